// UMAP on Fashion-MNIST pixels (/255): the first --n training images (default 20k x 784),
// umap-learn's defaults (15 neighbours, min_dist 0.1, 2-D, spectral init, 200 epochs above
// 10k points), timed end to end (kNN + fuzzy set + spectral init + layout), and its
// trustworthiness (sklearn's, 5 neighbours) on the first --trust-n points of the data and
// the embedding (the same subsample bench/peer_umap.py scores). One JSON line per case:
//   {"case": "umap_fmnist_20000", "seconds": ..., "accuracy": <trustworthiness>, ...}
//
//   bench_umap [--data /usr/share/datasets/fashion-mnist] [--n 20000] [--trust-n 5000]
//              [--seed 0] [--reps 1]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "autograd/ops.h"
#include "data/mnist.h"
#include "eval/embedding_quality.h"
#include "eval/umap.h"

using namespace marrow;

int main(int argc, char** argv) {
    CLI::App app{"UMAP on Fashion-MNIST pixels"};
    std::string data = "/usr/share/datasets/fashion-mnist";
    int64_t n = 20000, trust_n = 5000;
    uint64_t seed = 0;
    int reps = 1;
    bool verbose = false;
    app.add_option("--data", data, "directory with the Fashion-MNIST IDX files");
    app.add_option("--n", n, "number of training images embedded");
    app.add_option("--trust-n", trust_n, "points scored by trustworthiness (a prefix)");
    app.add_option("--seed", seed, "UMAP seed");
    app.add_option("--reps", reps, "timed repetitions (one JSON line each)");
    app.add_flag("--verbose", verbose, "print UMAP's stage times to stderr");
    CLI11_PARSE(app, argc, argv);

    data::MnistSplit split = data::load_mnist_split(data, "train");
    Tensor x = reshape(narrow(split.images, 0, 0, n), {n, 784});
    x = contiguous(to(x, DType::f32) / 255.0f);
    for (int r = 0; r < reps; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        eval::UMAP umap({.seed = seed, .verbose = verbose});
        Tensor emb = umap.fit_transform(x);
        double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        int64_t m = std::min(trust_n, n);
        double trust = eval::trustworthiness(narrow(x, 0, 0, m), narrow(emb, 0, 0, m), 5);
        std::printf(
            "{\"case\": \"umap_fmnist_%lld\", \"seconds\": %.3f, \"accuracy\": %.5f, "
            "\"metric\": \"trustworthiness@%lld\", \"impl\": \"marrow\"}\n",
            static_cast<long long>(n), seconds, trust, static_cast<long long>(m));
        std::fflush(stdout);
    }
    return 0;
}
