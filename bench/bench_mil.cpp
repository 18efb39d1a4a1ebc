// One MIL training step on one bag of frozen features (the SCEMILA / DinoBloom setting): the
// forward, cross-entropy, backward and the optimizer's update, timed as a median over --steps
// steps after two warm-ups. Models at the papers' sizes on (N, D) feature vectors:
//   amil         SCEMILA's AMiL with vector instances (Linear(D, 500) - ReLU, class-wise
//                attention 500-128-C, a 500-64-1 classifier per class), SGD Nesterov
//   abmil_gated  gated ABMIL on the features themselves (V, U: D -> 128, w: 128 -> 1) with
//                DinoBloom's head (D - 64 - C), Adam
// bench/peer_mil.py times the same in PyTorch; bench/run_mil_bench.py runs both.
//
//   bench_mil [--model amil] [--instances 500] [--features 512] [--classes 5] [--steps 50]
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "bench/timing.h"
#include "marrow.h"

using namespace marrow;

int main(int argc, char** argv) {
    std::string model_name = "amil";
    int64_t instances = 500, features = 512, classes = 5;
    int steps = 50;
    CLI::App cli{"One MIL training step on a bag of feature vectors"};
    cli.add_option("--model", model_name)->check(CLI::IsMember({"amil", "abmil_gated"}));
    cli.add_option("--instances", instances)->check(CLI::PositiveNumber);
    cli.add_option("--features", features)->check(CLI::PositiveNumber);
    cli.add_option("--classes", classes)->check(CLI::PositiveNumber);
    cli.add_option("--steps", steps)->check(CLI::PositiveNumber);
    CLI11_PARSE(cli, argc, argv);

    Generator gen(0);
    std::shared_ptr<mil::MilModel> model;
    std::unique_ptr<nn::Optimizer> opt;
    if (model_name == "amil") {
        model = std::make_shared<mil::Amil>(
            mil::AmilOptions{.classes = classes, .in = features, .spatial = false}, &gen);
        opt = std::make_unique<nn::SGD>(
            model->parameters(), nn::SGDOptions{.lr = 5e-5, .momentum = 0.9, .nesterov = true});
    } else {
        model = std::make_shared<mil::AttentionMil>(
            mil::AttentionMilOptions{.in = features, .classes = classes}, &gen);
        opt = std::make_unique<nn::Adam>(model->parameters(), nn::AdamOptions{.lr = 1e-4});
    }
    Tensor bag = randn({instances, features}, DType::f32, Device::cpu(), gen);
    Tensor label = from_vector<int64_t>({1}, {1});
    auto step = [&] {
        opt->zero_grad();
        Tensor loss = nn::cross_entropy(model->forward(bag).logits, label);
        loss.backward();
        opt->step();
    };
    auto [median, reps] = bench::time_median(step, 0.0, steps + 1);  // + its warm-up: steps + 2
    nlohmann::json out = {{"bench", "mil_step"},      {"model", model_name},
                          {"instances", instances},   {"features", features},
                          {"classes", classes},       {"median_s", median},
                          {"bags_per_s", 1 / median}, {"reps", reps}};
    std::printf("%s\n", out.dump().c_str());
}
