// What a graph costs: a 4-layer MLP (784-1024-1024-1024-10, batch 256, float32) whose first
// layer is frozen (a probe on a frozen stem), as in linear probing and MIL on frozen
// encoders. Prints one JSON line: the bytes the graph keeps alive after the forward pass
// (CPU allocator: allocated bytes with the loss held, minus before the forward, minus the
// loss itself) and the median backward time. Written against the API common to every
// version of the core, so the same file measures before and after a change to autograd.
//
//   bench_autograd [--reps 20]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "marrow.h"

using namespace marrow;

int main(int argc, char** argv) {
    int reps = 20;
    CLI::App cli{"MLP with a frozen first layer: graph memory and backward time"};
    cli.add_option("--reps", reps)->check(CLI::PositiveNumber);
    CLI11_PARSE(cli, argc, argv);

    const int64_t batch = 256;
    const std::vector<int64_t> widths = {784, 1024, 1024, 1024, 10};
    Generator gen(0);
    std::vector<Tensor> weights, biases;
    for (size_t l = 0; l + 1 < widths.size(); ++l) {
        Tensor w = randn({widths[l + 1], widths[l]}, DType::f32, Device::cpu(), gen) * 0.03;
        Tensor b = zeros({widths[l + 1]});
        if (l > 0) {  // layer 0 frozen
            w.requires_grad_();
            b.requires_grad_();
        }
        weights.push_back(w);
        biases.push_back(b);
    }
    Tensor x = randn({batch, widths[0]}, DType::f32, Device::cpu(), gen);
    auto forward = [&] {
        Tensor h = x;
        for (size_t l = 0; l < weights.size(); ++l) {
            h = linear(h, weights[l], biases[l]);
            if (l + 1 < weights.size()) h = relu(h);
        }
        return mean(h * h);
    };

    std::vector<double> times;
    size_t graph_bytes = 0;
    for (int r = 0; r < reps + 1; ++r) {
        for (size_t l = 1; l < weights.size(); ++l) {
            weights[l].zero_grad();
            biases[l].zero_grad();
        }
        size_t before = memory_stats(Device::cpu()).allocated_bytes;
        Tensor loss = forward();
        graph_bytes = memory_stats(Device::cpu()).allocated_bytes - before - sizeof(float);
        auto t0 = std::chrono::steady_clock::now();
        loss.backward();
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (r > 0) times.push_back(s);  // the first is a warm-up
    }
    std::sort(times.begin(), times.end());
    std::printf(
        "{\"bench\": \"autograd\", \"case\": \"mlp4_frozen_first\", \"graph_bytes\": %zu, "
        "\"backward_s\": %.6f, \"reps\": %d}\n",
        graph_bytes, times[times.size() / 2], reps);
    return 0;
}
