// One training step of a torchvision-shaped ResNet (train mode, cross-entropy on 1000
// classes, SGD momentum 0.9 + weight decay 1e-4): forward, backward, optimizer step, on fixed
// random images and labels. Prints one JSON line: median step seconds over --steps after
// --warmup steps, images per second, and the process's peak resident memory (ru_maxrss, so run
// one model per process). bench/run_train_bench.py runs it against bench/peer_train.py.
//
//   bench_train [--model resnet18|resnet50] [--batch 32] [--size 144] [--steps 5] [--warmup 2]
//               [--autocast none|bf16]
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "marrow.h"

using namespace marrow;

int main(int argc, char** argv) {
    std::string model_name = "resnet18";
    int64_t batch = 32, size = 144;
    int steps = 5, warmup = 2;
    CLI::App cli{"ResNet training-step time and peak memory"};
    cli.add_option("--model", model_name)->check(CLI::IsMember({"resnet18", "resnet50"}));
    cli.add_option("--batch", batch)->check(CLI::PositiveNumber);
    cli.add_option("--size", size)->check(CLI::PositiveNumber);
    cli.add_option("--steps", steps)->check(CLI::PositiveNumber);
    cli.add_option("--warmup", warmup)->check(CLI::NonNegativeNumber);
    std::string autocast = "none";  // bf16: forward + loss under autograd::AutocastGuard
    cli.add_option("--autocast", autocast)->check(CLI::IsMember({"none", "bf16"}));
    CLI11_PARSE(cli, argc, argv);

    Generator gen(0);
    nn::models::ResNetOptions options{.generator = &gen};
    auto model =
        model_name == "resnet18" ? nn::models::resnet18(options) : nn::models::resnet50(options);
    model->train();
    nn::SGD optimizer(model->parameters(), {.lr = 0.01, .momentum = 0.9, .weight_decay = 1e-4});
    Tensor images = randn({batch, 3, size, size}, DType::f32, Device::cpu(), gen);
    Tensor labels = randint(0, 1000, {batch}, DType::i64, Device::cpu(), gen);

    std::vector<double> times;
    double loss = 0;
    for (int s = 0; s < warmup + steps; ++s) {
        auto t0 = std::chrono::steady_clock::now();
        std::optional<autograd::AutocastGuard> amp;
        if (autocast == "bf16") amp.emplace(DType::bf16);
        Tensor l = nn::cross_entropy(model->forward(images), labels);
        amp.reset();
        optimizer.zero_grad();
        l.backward();
        optimizer.step();
        loss = l.item();
        auto t1 = std::chrono::steady_clock::now();
        if (s >= warmup) times.push_back(std::chrono::duration<double>(t1 - t0).count());
    }
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf(
        "{\"bench\": \"train_step\", \"model\": \"%s\", \"batch\": %lld, \"size\": %lld, "
        "\"step_s\": %.6f, \"images_per_s\": %.3f, \"peak_rss_mb\": %.1f, \"loss\": %.6f, "
        "\"steps\": %d}\n",
        model_name.c_str(), static_cast<long long>(batch), static_cast<long long>(size), median,
        double(batch) / median, double(usage.ru_maxrss) / 1024.0, loss, steps);
    return 0;
}
