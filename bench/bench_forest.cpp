// Random forest on Fashion-MNIST pixels (issue 13's benchmark): 60k x 784 training images
// scaled to [0, 1], 100 trees, sklearn's defaults (Gini, bootstrap, max_features = sqrt),
// 2 threads. Times fit and predict on the 10k test images and prints one JSON line:
//   {"case": "forest_fmnist", "seconds": fit, "predict_seconds": ..., "accuracy": ...}
// bench/peer_forest.py prints the same line for sklearn's RandomForestClassifier(n_jobs=2).
//
//   bench_forest [--data /usr/share/datasets/fashion-mnist] [--trees 100] [--threads 2]
//                [--seed 0] [--train-limit N] [--histogram-min-samples 32]
//                [--block-max-samples 8192]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "data/mnist.h"
#include "eval/metrics.h"
#include "eval/random_forest.h"
#include "marrow.h"

using namespace marrow;

namespace {

// (N, 28, 28) u8 -> (N, 784) f32 / 255, the first `limit` rows (all when limit <= 0).
Tensor pixels(const Tensor& images, int64_t limit) {
    int64_t n = limit > 0 ? std::min(limit, images.size(0)) : images.size(0);
    return to(reshape(slice(images, 0, 0, n), {n, 784}), DType::f32) / 255.0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = "/usr/share/datasets/fashion-mnist";
    int64_t trees = 100, limit = 0;
    int threads = 2;
    uint64_t seed = 0;
    int64_t histogram_min = eval::RandomForestOptions{}.histogram_min_samples;
    int64_t block_max = eval::RandomForestOptions{}.block_max_samples;
    CLI::App cli{"Random forest on Fashion-MNIST pixels"};
    cli.add_option("--data", dir);
    cli.add_option("--trees", trees)->check(CLI::PositiveNumber);
    cli.add_option("--threads", threads)->check(CLI::PositiveNumber);
    cli.add_option("--seed", seed);
    cli.add_option("--train-limit", limit, "use the first N training images (0: all)");
    cli.add_option("--histogram-min-samples", histogram_min, "tuning knob (same results)");
    cli.add_option("--block-max-samples", block_max, "tuning knob (same results)");
    CLI11_PARSE(cli, argc, argv);

    data::MnistSplit train = data::load_mnist_split(dir, "train");
    data::MnistSplit test = data::load_mnist_split(dir, "t10k");
    Tensor x_train = pixels(train.images, limit), x_test = pixels(test.images, 0);
    Tensor y_train = slice(train.labels, 0, 0, x_train.size(0));

    eval::RandomForestClassifier forest({.n_estimators = trees,
                                         .seed = seed,
                                         .n_threads = threads,
                                         .histogram_min_samples = histogram_min,
                                         .block_max_samples = block_max});
    auto t0 = std::chrono::steady_clock::now();
    forest.fit(x_train, y_train);
    double fit_s = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    Tensor pred = forest.predict(x_test);
    double predict_s = seconds_since(t0);
    double acc = eval::accuracy(test.labels, pred);
    std::printf(
        "{\"case\": \"forest_fmnist\", \"seconds\": %.3f, \"predict_seconds\": %.3f, "
        "\"accuracy\": %.4f, \"trees\": %lld, \"threads\": %d, \"train\": %lld}\n",
        fit_s, predict_s, acc, (long long)trees, threads, (long long)x_train.size(0));
    return 0;
}
