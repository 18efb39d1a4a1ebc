// The linear and kNN probes of eval/ on Fashion-MNIST pixels (/255, 60k train, 10k test):
// one case per run, one JSON line with the seconds it took (fit + predict) and the test
// accuracy. bench/run_eval_bench.py runs it against bench/peer_probe.py (sklearn).
//
//   bench_probe --case knn1_l2|knn20_l2|knn20_cosine|logreg [--data DIR] [--train N]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "data/mnist.h"
#include "marrow.h"

using namespace marrow;

namespace {

// (N, 784) f32 pixels / 255 of the first n images of a split.
std::pair<Tensor, Tensor> load(const std::string& dir, const std::string& prefix, int64_t n) {
    data::MnistSplit split = data::load_mnist_split(dir, prefix);
    n = std::min(n, split.images.size(0));
    Tensor x = contiguous(to(split.images.narrow(0, 0, n).reshape({n, 784}), DType::f32) / 255.0);
    return {x, contiguous(split.labels.narrow(0, 0, n))};
}

}  // namespace

int main(int argc, char** argv) try {
    std::string name, dir = "/usr/share/datasets/fashion-mnist";
    int64_t train_n = 60000;
    CLI::App cli{"kNN and logistic-regression probes on Fashion-MNIST pixels"};
    cli.add_option("--case", name)->required()->check(
        CLI::IsMember({"knn1_l2", "knn20_l2", "knn20_cosine", "logreg"}));
    cli.add_option("--data", dir, "Fashion-MNIST directory");
    cli.add_option("--train", train_n, "training images used")->check(CLI::PositiveNumber);
    CLI11_PARSE(cli, argc, argv);
    auto [x, y] = load(dir, "train", train_n);
    auto [xt, yt] = load(dir, "t10k", 10000);

    auto t0 = std::chrono::steady_clock::now();
    Tensor pred = zeros({0});
    if (name == "logreg") {
        eval::LogisticRegression model({.max_iter = 200});
        pred = model.fit(x, y, 10).predict(xt);
    } else {
        int64_t k = name == "knn1_l2" ? 1 : 20;
        auto metric = name == "knn20_cosine" ? eval::KnnMetric::cosine : eval::KnnMetric::euclidean;
        pred = eval::KNeighborsClassifier({.k = k, .metric = metric}).fit(x, y, 10).predict(xt);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"case\": \"%s\", \"impl\": \"marrow\", \"seconds\": %.3f, \"accuracy\": %.4f}\n",
                name.c_str(), seconds, eval::accuracy(yt, pred));
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_probe: error: %s\n", e.what());
    return 1;
}
