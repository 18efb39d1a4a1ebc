// One training step, on fixed random images and labels, cross-entropy on 1000 classes:
//   resnet18 / resnet50: torchvision's ResNet in train mode, SGD momentum 0.9 + wd 1e-4;
//   vit_s14: DINOv2's ViT-S/14 (224 px position grid, LayerScale 1e-5) with a Linear(384,
//     1000) head on the cls token, AdamW (lr 1e-4, wd 0.04); --checkpoint recomputes each
//     block's activations in backward.
// Prints one JSON line: median step seconds over --steps after --warmup steps, images per
// second, the process's peak resident memory (ru_maxrss, so run one model per process), and
// the step's peak tensor memory above what the model and optimizer hold between steps
// (activations and gradients; the CPU allocator's statistics). bench/run_train_bench.py runs
// it against bench/peer_train.py. --device cuda (nvcc builds on a GPU; a simulator build
// refuses) runs the model there and reports the device allocator's peak instead.
//
// --inference times the forward alone in eval mode under no_grad instead (feature extraction's
// throughput).
//
//   bench_train [--model resnet18|resnet50|vit_s14] [--batch 32] [--size 144] [--steps 5]
//               [--warmup 2] [--checkpoint] [--autocast none|bf16] [--device cpu|cuda]
//               [--inference]
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "marrow.h"

using namespace marrow;

int main(int argc, char** argv) try {
    std::string model_name = "resnet18";
    int64_t batch = 32, size = 144;
    int steps = 5, warmup = 2;
    bool checkpointing = false, inference = false;
    CLI::App cli{"Training-step time and peak memory"};
    cli.add_option("--model", model_name)
        ->check(CLI::IsMember({"resnet18", "resnet50", "vit_s14"}));
    cli.add_flag("--checkpoint", checkpointing, "activation checkpointing per block (ViT)");
    cli.add_flag("--inference", inference, "forward only, eval mode, no_grad");
    cli.add_option("--batch", batch)->check(CLI::PositiveNumber);
    cli.add_option("--size", size)->check(CLI::PositiveNumber);
    cli.add_option("--steps", steps)->check(CLI::PositiveNumber);
    cli.add_option("--warmup", warmup)->check(CLI::NonNegativeNumber);
    std::string autocast = "none";  // bf16: forward + loss under autograd::AutocastGuard
    cli.add_option("--autocast", autocast)->check(CLI::IsMember({"none", "bf16"}));
    std::string device_name = "cpu";
    cli.add_option("--device", device_name)->check(CLI::IsMember({"cpu", "cuda"}));
    CLI11_PARSE(cli, argc, argv);
    Device device = device_name == "cuda" ? Device::cuda() : Device::cpu();
#if defined(MARROW_CUDA_SIM)
    MARROW_CHECK(device == Device::cpu(),
                 "this build runs CUDA kernels on the SIMT simulator, which "
                 "checks correctness, not speed; benchmark an nvcc build on a GPU");
#endif

    Generator gen(0);
    std::shared_ptr<nn::Layer> model;
    std::shared_ptr<nn::Linear> head;
    std::unique_ptr<nn::Optimizer> optimizer;
    if (model_name == "vit_s14") {
        auto vit = nn::models::vit_small(
            {.img_size = 224, .patch_size = 14, .init_values = 1e-5, .generator = &gen});
        vit->set_grad_checkpointing(checkpointing);
        head = std::make_shared<nn::Linear>(384, 1000, true, &gen);
        vit->set_head(head);
        model = vit;
        model->to(device);
        optimizer = std::make_unique<nn::AdamW>(model->parameters(),
                                                nn::AdamWOptions{.lr = 1e-4, .weight_decay = 0.04});
    } else {
        nn::models::ResNetOptions options{.generator = &gen};
        model = model_name == "resnet18" ? nn::models::resnet18(options)
                                         : nn::models::resnet50(options);
        model->to(device);
        optimizer = std::make_unique<nn::SGD>(
            model->parameters(), nn::SGDOptions{.lr = 0.01, .momentum = 0.9, .weight_decay = 1e-4});
    }
    model->train(!inference);
    Tensor images = to(randn({batch, 3, size, size}, DType::f32, Device::cpu(), gen), device);
    Tensor labels = to(randint(0, 1000, {batch}, DType::i64, Device::cpu(), gen), device);

    std::vector<double> times;
    double loss = 0;
    size_t step_peak = 0, device_peak = 0;
    for (int s = 0; s < warmup + steps; ++s) {
        optimizer->zero_grad();
        size_t resting = memory_stats(device).allocated_bytes;
        reset_peak_memory(device);
        auto t0 = std::chrono::steady_clock::now();
        std::optional<autograd::AutocastGuard> amp;
        if (autocast == "bf16") amp.emplace(DType::bf16);
        if (inference) {
            autograd::NoGradGuard no_grad;
            loss = model->forward(images).sum().item();  // on a GPU: waits for the forward
        } else {
            Tensor l = nn::cross_entropy(model->forward(images), labels);
            amp.reset();
            l.backward();
            optimizer->step();
            loss = l.item();  // on a GPU: waits for the step
        }
        auto t1 = std::chrono::steady_clock::now();
        if (s >= warmup) times.push_back(std::chrono::duration<double>(t1 - t0).count());
        size_t peak = memory_stats(device).peak_allocated_bytes;
        step_peak = std::max(step_peak, peak - resting);
        device_peak = std::max(device_peak, peak);  // weights, optimizer state and the step
    }
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf(
        "{\"bench\": \"train_step\", \"model\": \"%s\", \"batch\": %lld, \"size\": %lld, "
        "\"step_s\": %.6f, \"images_per_s\": %.3f, \"peak_rss_mb\": %.1f, "
        "\"step_tensor_mb\": %.1f, \"checkpoint\": %s, \"autocast\": \"%s\", \"loss\": %.6f, "
        "\"steps\": %d, \"device\": \"%s\", \"device_peak_mb\": %.1f, \"inference\": %s}\n",
        model_name.c_str(), static_cast<long long>(batch), static_cast<long long>(size), median,
        double(batch) / median, double(usage.ru_maxrss) / 1024.0, double(step_peak) / 1048576.0,
        checkpointing ? "true" : "false", autocast.c_str(), loss, steps, device_name.c_str(),
        double(device_peak) / 1048576.0, inference ? "true" : "false");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train: error: %s\n", e.what());
    return 1;
}
