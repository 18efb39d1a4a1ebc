// Optimizer step time over ResNet-18's parameters (62 float32 tensors, 11.7M values, the
// torchvision shapes), fused (one optim_step kernel per parameter) against the composite
// reference (fused = false), for SGD with momentum + weight decay and for AdamW. Gradients are
// fixed random tensors, so only step() is timed. One JSON line per case, median of --reps;
// bench/peer_optim.py times torch.optim on the same shapes.
//
//   bench_optim [--reps 20] [--device cpu|cuda]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

#include "marrow.h"

using namespace marrow;

namespace {

// torchvision resnet18's parameter shapes, in named_parameters() order.
std::vector<Shape> resnet18_shapes() {
    std::vector<Shape> s = {{64, 3, 7, 7}, {64}, {64}};
    int64_t in = 64;
    for (int64_t width : {64, 128, 256, 512}) {
        for (int block = 0; block < 2; ++block) {
            bool down = block == 0 && width != 64;
            s.insert(s.end(), {{width, block == 0 ? in : width, 3, 3}, {width}, {width}});
            s.insert(s.end(), {{width, width, 3, 3}, {width}, {width}});
            if (down) s.insert(s.end(), {{width, in, 1, 1}, {width}, {width}});
        }
        in = width;
    }
    s.insert(s.end(), {{1000, 512}, {1000}});
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    int reps = 20;
    std::string device_name = "cpu";
    CLI::App cli{"Optimizer step time over ResNet-18's parameters"};
    cli.add_option("--reps", reps)->check(CLI::PositiveNumber);
    cli.add_option("--device", device_name)->check(CLI::IsMember({"cpu", "cuda"}));
    CLI11_PARSE(cli, argc, argv);
    Device device = device_name == "cpu" ? Device::cpu() : Device::cuda();

    Generator gen(0);
    std::vector<Tensor> params, grads;
    int64_t numel = 0;
    for (const Shape& shape : resnet18_shapes()) {
        params.push_back(randn(shape, DType::f32, device, gen).requires_grad_());
        grads.push_back(randn(shape, DType::f32, device, gen) * 0.01);
        numel += params.back().numel();
    }
    using Factory = std::function<std::unique_ptr<nn::Optimizer>(bool fused)>;
    std::vector<std::pair<std::string, Factory>> cases = {
        {"sgd_momentum_wd",
         [&](bool fused) {
             return std::make_unique<nn::SGD>(
                 params,
                 nn::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4, .fused = fused});
         }},
        {"adamw", [&](bool fused) {
             return std::make_unique<nn::AdamW>(
                 params, nn::AdamWOptions{.lr = 1e-3, .weight_decay = 0.04, .fused = fused});
         }}};
    for (const auto& [name, make] : cases) {
        for (bool fused : {true, false}) {
            auto opt = make(fused);
            for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
            std::vector<double> times;
            for (int r = 0; r < reps + 2; ++r) {  // two warm-up steps create the state
                synchronize(device);
                auto t0 = std::chrono::steady_clock::now();
                opt->step();
                synchronize(device);
                auto t1 = std::chrono::steady_clock::now();
                if (r >= 2) times.push_back(std::chrono::duration<double>(t1 - t0).count());
            }
            std::sort(times.begin(), times.end());
            double median = times[times.size() / 2];
            std::printf(
                "{\"bench\": \"optim_step\", \"case\": \"%s\", \"fused\": %s, \"device\": \"%s\", "
                "\"tensors\": %zu, \"numel\": %lld, \"median_s\": %.6f}\n",
                name.c_str(), fused ? "true" : "false", device_name.c_str(), params.size(),
                static_cast<long long>(numel), median);
        }
    }
    return 0;
}
