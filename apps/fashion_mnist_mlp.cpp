// Demo: a 2-layer MLP (784 -> hidden -> 10, ReLU) trained on Fashion-MNIST with nn::SGD
// (momentum) on nn::cross_entropy, until nn::Module and the experiment apps exist. Prints
// progress and the final test accuracy; writes a run directory (run.json, metrics.jsonl).
//
//   fashion_mnist_mlp [--data /usr/share/datasets/fashion-mnist] [--epochs 4] [--out DIR]
//                     [--require-accuracy 0.85]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "apps/run_record.h"
#include "data/mnist.h"
#include "marrow.h"

using namespace marrow;

namespace {

struct Config {
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::string out = "runs/fashion_mnist_mlp";
    int epochs = 4;
    int64_t hidden = 256;
    int64_t batch = 128;
    double lr = 0.05;
    double momentum = 0.9;
    uint64_t seed = 0;
    double require_accuracy = 0;  // exit with an error below this test accuracy (CI)
};

// (N, 28, 28) uint8 -> (N, 784) float32, scaled to [0, 1] and standardized with the
// training set's mean and std.
Tensor prepare(const Tensor& images, double mean, double std) {
    Tensor x = to(reshape(images, {images.size(0), -1}), DType::f32) / 255.0;
    return (x - mean) / std;
}

// torch.nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
Tensor uniform_init(const Shape& shape, int64_t fan_in, Generator& gen) {
    double bound = 1.0 / std::sqrt(double(fan_in));
    Tensor t = rand(shape, DType::f32, Device::cpu(), gen) * (2 * bound) - bound;
    t = detach(t);
    t.requires_grad_();
    return t;
}

struct Mlp {
    Tensor w1, b1, w2, b2;
    Tensor forward(const Tensor& x) const { return linear(relu(linear(x, w1, b1)), w2, b2); }
    std::vector<Tensor> parameters() const { return {w1, b1, w2, b2}; }
};

double accuracy(const Mlp& model, const Tensor& x, const Tensor& y) {
    autograd::NoGradGuard no_grad;
    std::vector<Tensor> pred;
    for (int64_t at = 0; at < x.size(0); at += 1000) {  // batches of 1000 bound the memory
        int64_t n = std::min<int64_t>(1000, x.size(0) - at);
        pred.push_back(argmax(model.forward(narrow(x, 0, at, n)), 1));
    }
    return eval::accuracy(y, cat(pred));
}

}  // namespace

int main(int argc, char** argv) try {
    Config cfg;
    CLI::App cli{"Train a 2-layer MLP on Fashion-MNIST (marrow demo)"};
    cli.add_option("--data", cfg.data, "directory with the Fashion-MNIST IDX files");
    cli.add_option("--out", cfg.out, "run directory to write");
    cli.add_option("--epochs", cfg.epochs, "passes over the training set")
        ->check(CLI::PositiveNumber);
    cli.add_option("--hidden", cfg.hidden, "hidden units")->check(CLI::PositiveNumber);
    cli.add_option("--batch", cfg.batch, "mini-batch size")->check(CLI::PositiveNumber);
    cli.add_option("--lr", cfg.lr, "learning rate");
    cli.add_option("--momentum", cfg.momentum, "SGD momentum");
    cli.add_option("--seed", cfg.seed, "seed for init and shuffling");
    cli.add_option("--require-accuracy", cfg.require_accuracy,
                   "fail (exit 1) if the final test accuracy is below this fraction");
    CLI11_PARSE(cli, argc, argv);

    auto start = std::chrono::steady_clock::now();
    auto seconds = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    data::MnistSplit train = data::load_mnist_split(cfg.data, "train");
    data::MnistSplit test = data::load_mnist_split(cfg.data, "t10k");
    const double kMean = 0.2860, kStd = 0.3530;  // Fashion-MNIST training-set pixel statistics
    Tensor x_train = prepare(train.images, kMean, kStd), y_train = train.labels;
    Tensor x_test = prepare(test.images, kMean, kStd), y_test = test.labels;
    std::printf("loaded %lld train / %lld test images in %.1fs\n", (long long)x_train.size(0),
                (long long)x_test.size(0), seconds());

    std::vector<std::string> files = train.files;
    files.insert(files.end(), test.files.begin(), test.files.end());
    nlohmann::json flags = {{"data", cfg.data},     {"epochs", cfg.epochs},
                            {"hidden", cfg.hidden}, {"batch", cfg.batch},
                            {"lr", cfg.lr},         {"momentum", cfg.momentum}};
    apps::RunRecord record(cfg.out, "fashion_mnist_mlp", flags, cfg.seed, files);

    Generator gen(cfg.seed);
    Mlp model{uniform_init({cfg.hidden, 784}, 784, gen), uniform_init({cfg.hidden}, 784, gen),
              uniform_init({10, cfg.hidden}, cfg.hidden, gen), uniform_init({10}, cfg.hidden, gen)};
    nn::SGD optimizer(model.parameters(), {.lr = cfg.lr, .momentum = cfg.momentum});

    int64_t n = x_train.size(0), steps_per_epoch = (n + cfg.batch - 1) / cfg.batch, step = 0;
    for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
        Tensor order = randperm(n, gen);
        double loss_sum = 0;
        for (int64_t b = 0; b < steps_per_epoch; ++b, ++step) {
            Tensor idx = narrow(order, 0, b * cfg.batch, std::min(cfg.batch, n - b * cfg.batch));
            Tensor loss = nn::cross_entropy(model.forward(index_select(x_train, 0, idx)),
                                            index_select(y_train, 0, idx));
            optimizer.zero_grad();
            loss.backward();
            double l = loss.item();
            MARROW_CHECK(std::isfinite(l), "step {}: loss is {} (check --lr)", step, l);
            loss_sum += l;
            optimizer.step();
            if ((b + 1) % 100 == 0 || b + 1 == steps_per_epoch)
                std::printf("epoch %d  step %4lld/%lld  loss %.4f  %.0f steps/s\n", epoch,
                            (long long)(b + 1), (long long)steps_per_epoch,
                            loss_sum / double(b + 1), double(step + 1) / seconds());
        }
        double test_acc = accuracy(model, x_test, y_test);
        double train_loss = loss_sum / double(steps_per_epoch);
        std::printf("epoch %d done: train loss %.4f, test accuracy %.2f%%, %.1fs elapsed\n", epoch,
                    train_loss, 100 * test_acc, seconds());
        record.log({{"epoch", epoch},
                    {"step", step},
                    {"train_loss", train_loss},
                    {"test_accuracy", test_acc},
                    {"elapsed_s", seconds()}});
    }
    double final_acc = accuracy(model, x_test, y_test);
    record.finish({{"test_accuracy", final_acc}, {"seconds", seconds()}});
    std::printf("final test accuracy: %.2f%% (%d epochs, %.1fs); run record in %s\n",
                100 * final_acc, cfg.epochs, seconds(), record.dir().c_str());
    if (final_acc < cfg.require_accuracy) {
        std::fprintf(stderr,
                     "fashion_mnist_mlp: test accuracy %.2f%% is below the required "
                     "%.2f%%\n",
                     100 * final_acc, 100 * cfg.require_accuracy);
        return 1;
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "fashion_mnist_mlp: error: %s\n", e.what());
    return 1;
}
