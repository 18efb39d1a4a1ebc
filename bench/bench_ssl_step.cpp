// One self-supervised training step on fixed random crops, the same step as
// bench/peer_ssl_step.py (which documents both models), through the trainer's own
// ssl::optimizer_step:
//   simclr_resnet18: 2 views of --batch images at --size, ResNet-18 + the seed's projection
//     512 -> 512 -> 64, NT-Xent (tau 0.1), SGD momentum 0.9;
//   dino_vit_small: ViT-S/16 student and EMA teacher, 2 global crops at --size + 8 local crops
//     of 96 px, DINO head K = 4096, DINO loss with centering, AdamW, per-parameter clip 3.
// Prints one JSON line: median step seconds over --steps after --warmup, images per second.
//   bench_ssl_step [--model simclr_resnet18|dino_vit_small] [--batch 32] [--size 144]
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "marrow.h"
#include "ssl/ssl_model.h"
#include "ssl/trainer.h"

using namespace marrow;

int main(int argc, char** argv) try {
    std::string model_name = "simclr_resnet18";
    int64_t batch = 32, size = 144;
    int steps = 3, warmup = 1;
    CLI::App cli{"Self-supervised training-step time"};
    cli.add_option("--model", model_name)
        ->check(CLI::IsMember({"simclr_resnet18", "dino_vit_small"}));
    cli.add_option("--batch", batch)->check(CLI::PositiveNumber);
    cli.add_option("--size", size)->check(CLI::PositiveNumber);
    cli.add_option("--steps", steps)->check(CLI::PositiveNumber);
    cli.add_option("--warmup", warmup)->check(CLI::NonNegativeNumber);
    CLI11_PARSE(cli, argc, argv);

    const bool simclr = model_name == "simclr_resnet18";
    ssl::SslConfig c = ssl::method_defaults(simclr ? ssl::Method::simclr : ssl::Method::dino);
    c.batch_size = batch;
    c.global_size = size;
    std::vector<Tensor> views;
    if (simclr) {
        c.arch = "resnet18";
        c.projection = {512, 64};
        c.optimizer = "sgd";
        c.lr = 0.01;
        c.lr_scaling = ssl::LrScaling::none;
        views = {randn({batch, 3, size, size}), randn({batch, 3, size, size})};
    } else {
        c.arch = "vit_small";
        c.patch_size = 16;
        c.drop_path_rate = 0;
        c.out_dim = 4096;
        c.local_size = 96;
        views = {randn({batch, 3, size, size}), randn({batch, 3, size, size})};
        for (int i = 0; i < 8; ++i) views.push_back(randn({batch, 3, 96, 96}));
    }
    auto model = ssl::make_ssl_model(c);
    auto optimizer = ssl::make_optimizer(c, model->student_parameters());
    model->train();
    std::vector<double> times;
    double loss = 0;
    for (int s = 0; s < warmup + steps; ++s) {
        ssl::StepContext ctx{.iteration = s, .epoch = 1, .generator = &model->generator()};
        auto t0 = std::chrono::steady_clock::now();
        loss = ssl::optimizer_step(*model, *optimizer, [&] { return views; }, ctx).total.item();
        double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (s >= warmup) times.push_back(dt);
    }
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    int64_t images = batch * int64_t(views.size());
    std::printf("{\"bench\": \"ssl_step\", \"model\": \"%s\", \"batch\": %lld, \"size\": %lld, "
                "\"step_s\": %.6f, \"images_per_s\": %.4f, \"loss\": %.6f, "
                "\"peak_rss_mb\": %.1f}\n",
                model_name.c_str(), (long long)batch, (long long)size, median,
                double(images) / median, loss, double(usage.ru_maxrss) / 1024.0);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_ssl_step: error: %s\n", e.what());
    return 1;
}
