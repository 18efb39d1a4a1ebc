// The MIL training loop (mil/training.h): it learns a task whose label is carried by a few
// key instances (and attends to them), restores the best state, counts optimizer steps by
// SCEMILA's sum-and-drop rule and by the mean rule, stops early on a validation plateau,
// resumes bit-identically from its checkpoint, samples instances as asked, and names what is
// wrong with its input.
#include <doctest/doctest.h>

#include <filesystem>
#include <numeric>

#include "autograd/ops.h"
#include "mil/training.h"
#include "tensor/error.h"
#include "tensor/factory.h"

using namespace marrow;

namespace {

// Bags of `d`-feature instances, N(0, 1); a class-1 bag holds 1-3 key instances whose first
// feature is shifted by +4. Returns the bags and, per bag, which instances are keys.
std::vector<mil::Bag> key_instance_bags(int64_t count, int64_t d, uint64_t seed,
                                        std::vector<std::vector<bool>>* keys = nullptr) {
    Generator gen(seed);
    std::vector<mil::Bag> bags;
    for (int64_t b = 0; b < count; ++b) {
        int64_t n = 6 + b % 7, label = b % 2;
        Tensor x = randn({n, d}, DType::f32, Device::cpu(), gen);
        std::vector<bool> is_key(n, false);
        if (label == 1)
            for (int64_t k = 0; k < 1 + b % 3; ++k) {
                int64_t i = (b * 5 + k * 3) % n;
                is_key[i] = true;
                x.data<float>()[i * d] += 4;
            }
        if (keys) keys->push_back(is_key);
        bags.push_back({fmt::format("patient_{}", b), label, x});
    }
    return bags;
}

std::shared_ptr<mil::AttentionMil> small_abmil(uint64_t seed) {
    Generator gen(seed);
    return std::make_shared<mil::AttentionMil>(
        mil::AttentionMilOptions{.in = 8, .classes = 2, .embed = 16, .attention_hidden = 8}, &gen);
}

double mean_loss(mil::MilModel& model, const std::vector<mil::Bag>& bags) {
    double s = 0;
    for (const auto& p : mil::predict_bags(model, bags)) s += p.loss;
    return s / double(bags.size());
}

mil::MilTrainOptions adam_options() {
    mil::MilTrainOptions o;
    o.optimizer = "adam";
    o.lr = 3e-3;
    o.accumulate = 4;
    o.accumulation = mil::Accumulation::mean;
    o.max_epochs = 25;
    o.patience = 0;
    o.seed = 5;
    return o;
}

}  // namespace

TEST_CASE("train_mil: learns key-instance bags, attends to the keys, keeps the best state") {
    std::vector<std::vector<bool>> keys;
    auto train = key_instance_bags(48, 8, 1);
    auto val = key_instance_bags(24, 8, 2, &keys);
    auto model = small_abmil(3);
    mil::MilTrainResult r = mil::train_mil(*model, train, val, adam_options());
    REQUIRE(r.finished);
    CHECK(r.epochs.size() == 25);
    CHECK(r.best_epoch >= 0);
    // the model left behind is the best epoch's: its validation loss is the best one
    CHECK(mean_loss(*model, val) == doctest::Approx(r.best_val_loss).epsilon(1e-9));
    CHECK(r.epochs[r.best_epoch].val_loss == doctest::Approx(r.best_val_loss));
    std::vector<mil::BagPrediction> preds = mil::predict_bags(*model, val);
    int64_t correct = 0;
    double key_attention = 0, other_attention = 0;
    int64_t key_count = 0, other_count = 0;
    for (size_t b = 0; b < preds.size(); ++b) {
        correct += preds[b].predicted == preds[b].label;
        if (preds[b].label != 1) continue;
        const float* a = contiguous(to(preds[b].attention, DType::f32)).data<float>();
        for (size_t i = 0; i < keys[b].size(); ++i)
            (keys[b][i] ? key_attention : other_attention) += a[i],
                ++(keys[b][i] ? key_count : other_count);
    }
    CHECK(double(correct) / preds.size() >= 0.95);
    // a key instance gets several times the attention of another instance of its bag
    CHECK(key_attention / key_count > 3 * other_attention / other_count);
}

TEST_CASE("train_mil: optimizer steps by SCEMILA's sum-and-drop rule and by the mean rule") {
    auto bags = key_instance_bags(7, 8, 4);
    for (auto [rule, steps] : {std::pair{mil::Accumulation::sum_drop_remainder, 2},
                               std::pair{mil::Accumulation::mean, 3}}) {
        auto model = small_abmil(3);
        mil::MilTrainOptions o;
        o.max_epochs = 1;
        o.accumulate = 3;  // 7 bags: 2 full steps and a remainder of 1
        o.accumulation = rule;
        mil::MilTrainResult r = mil::train_mil(*model, bags, {}, o);
        CHECK(r.steps == steps);
    }
    // masked batches of 3 bags: 3 micro-batches, accumulate 2 -> 1 step (sum rule) or 2 (mean)
    auto model = small_abmil(3);
    mil::MilTrainOptions o;
    o.max_epochs = 1;
    o.batch_bags = 3;
    o.accumulate = 2;
    CHECK(mil::train_mil(*model, bags, {}, o).steps == 1);
}

TEST_CASE("train_mil: early stopping on a validation plateau keeps the best epoch's state") {
    auto train = key_instance_bags(8, 8, 6);
    auto model = small_abmil(3);
    mil::MilTrainOptions o;
    o.lr = 0;  // nothing moves: the first epoch is the best, then the plateau
    o.patience = 2;
    o.accumulate = 2;
    mil::MilTrainResult r = mil::train_mil(*model, train, train, o);
    CHECK(r.stopped_early);
    CHECK(r.epochs.size() == 3);
    CHECK(r.best_epoch == 0);
    // a validation loss above initial_best_loss never counts as best: the initial state stays
    o.initial_best_loss = 1e-9;
    mil::MilTrainResult never = mil::train_mil(*model, train, train, o);
    CHECK(never.best_epoch == -1);
}

TEST_CASE("train_mil: a run resumed from its checkpoint continues bit-identically") {
    auto train = key_instance_bags(12, 8, 7);
    auto val = key_instance_bags(6, 8, 8);
    auto dir = std::filesystem::temp_directory_path() / "marrow_mil_resume_test";
    std::filesystem::remove_all(dir);
    mil::MilTrainOptions o = adam_options();
    o.max_epochs = 4;
    o.max_instances = 5;
    auto whole = small_abmil(9);
    mil::MilTrainResult a = mil::train_mil(*whole, train, val, o);

    o.run_dir = dir.string();
    o.stop_after_epochs = 2;
    auto part = small_abmil(9);
    mil::MilTrainResult first = mil::train_mil(*part, train, val, o);
    CHECK_FALSE(first.finished);
    CHECK(first.epochs.size() == 2);
    auto resumed = small_abmil(123);  // other initial weights: all of it comes from the checkpoint
    o.stop_after_epochs = -1;
    o.resume = true;
    mil::MilTrainResult b = mil::train_mil(*resumed, train, val, o);
    REQUIRE(b.finished);
    REQUIRE(b.epochs.size() == a.epochs.size());
    for (size_t e = 0; e < a.epochs.size(); ++e) {
        CHECK(b.epochs[e].train_loss == a.epochs[e].train_loss);
        CHECK(b.epochs[e].val_loss == a.epochs[e].val_loss);
    }
    CHECK(b.steps == a.steps);
    CHECK(b.best_epoch == a.best_epoch);
    for (const auto& entry : whole->state_dict()) {
        const std::string& key = entry.first;  // (not a structured binding: CAPTURE's lambda)
        CAPTURE(key);
        CHECK(equal(entry.second, resumed->state_dict().at(key)));
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("sample_instances: subsets, permutations and flips of the bag's own instances") {
    Generator gen(2);
    Tensor x = reshape(arange(0, 40, 1, DType::f32), {10, 4});
    Tensor all = mil::sample_instances(x, 0, true, false, gen);
    CHECK(all.shape() == Shape{10, 4});
    CHECK(equal(sum(all, {0}), sum(x, {0})));  // a permutation of the rows
    Tensor five = mil::sample_instances(x, 5, false, false, gen);
    CHECK(five.shape() == Shape{5, 4});
    // a subset without shuffle keeps the bag's order
    const float* f = five.data<float>();
    for (int i = 1; i < 5; ++i) CHECK(f[i * 4] > f[(i - 1) * 4]);
    CHECK(equal(mil::sample_instances(x, 20, false, false, gen), x));
    // flips: each map is itself, flipped in h, in w, or both
    Tensor maps = randn({16, 2, 3, 3}, DType::f32, Device::cpu(), gen);
    Tensor flipped = mil::sample_instances(maps, 0, false, true, gen);
    int changed = 0;
    for (int64_t i = 0; i < 16; ++i) {
        Tensor m = narrow(maps, 0, i, 1), y = narrow(flipped, 0, i, 1);
        bool any_match = equal(y, m) || equal(y, flip(m, {2})) || equal(y, flip(m, {3})) ||
                         equal(y, flip(m, {2, 3}));
        CHECK(any_match);
        changed += equal(y, m) ? 0 : 1;
    }
    CHECK(changed > 0);
    CHECK_THROWS_WITH_AS(mil::sample_instances(x, 0, false, true, gen),
                         doctest::Contains("flips need feature maps"), Error);
}

TEST_CASE("train_mil: errors name the bag, the label, the shape and a non-finite loss") {
    auto model = small_abmil(3);
    auto bags = key_instance_bags(4, 8, 1);
    bags[2].label = 5;
    CHECK_THROWS_WITH_AS(mil::train_mil(*model, bags, {}, {}),
                         doctest::Contains("training bag 2 (patient_2) has label 5"), Error);
    bags = key_instance_bags(4, 8, 1);
    bags[1].instances = zeros({3, 8, 2});
    CHECK_THROWS_WITH_AS(mil::train_mil(*model, bags, {}, {}),
                         doctest::Contains("must hold (N, D) instances"), Error);
    bags = key_instance_bags(4, 8, 1);
    fill_(bags[3].instances, std::numeric_limits<double>::quiet_NaN());
    mil::MilTrainOptions o;
    o.balanced_sampling = false;
    CHECK_THROWS_WITH_AS(mil::train_mil(*model, bags, {}, o),
                         doctest::Contains("(bags patient_3): the cross-entropy is NaN"), Error);
}
