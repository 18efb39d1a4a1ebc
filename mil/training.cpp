#include "mil/training.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "mil/protocol.h"
#include "nn/adam.h"
#include "nn/checkpoint.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "nn/training.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::mil {

MilTrainOptions MilTrainOptions::scemila() { return {}; }

MilTrainOptions MilTrainOptions::ssl_mil_seed() {
    MilTrainOptions o;
    o.max_epochs = 50;
    o.lr = 0.015;
    o.cosine = true;
    o.accumulate = 10;
    // The seed does not say whether the 10 gradients are summed (SCEMILA) or averaged; their
    // sum at lr 0.015 diverges on our features, their mean trains.
    o.accumulation = Accumulation::mean;
    o.max_instances = 500;
    o.flip_instances = true;
    return o;
}

nlohmann::json MilTrainOptions::to_json() const {
    return {{"max_epochs", max_epochs},
            {"patience", patience},
            {"initial_best_loss", initial_best_loss},
            {"optimizer", optimizer},
            {"lr", lr},
            {"momentum", momentum},
            {"nesterov", nesterov},
            {"weight_decay", weight_decay},
            {"cosine", cosine},
            {"batch_bags", batch_bags},
            {"accumulate", accumulate},
            {"accumulation", accumulation == Accumulation::mean ? "mean" : "sum_drop_remainder"},
            {"balanced_sampling", balanced_sampling},
            {"class_counts", class_counts},
            {"shuffle_instances", shuffle_instances},
            {"max_instances", max_instances},
            {"flip_instances", flip_instances},
            {"seed", seed}};
}

nlohmann::json EpochRecord::to_json() const {
    auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
    return {{"epoch", epoch},
            {"lr", lr},
            {"train_loss", number(train_loss)},
            {"train_accuracy", number(train_accuracy)},
            {"val_loss", number(val_loss)},
            {"val_accuracy", number(val_accuracy)},
            {"best", best},
            {"seconds", seconds}};
}

namespace {

// Each epoch's own generator: its draws depend only on (seed, epoch), which is what makes a
// resumed run continue exactly (splitmix64 of the pair as the Philox key).
Generator epoch_generator(uint64_t seed, int64_t epoch) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(epoch + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return Generator(z ^ (z >> 31));
}

// A uniformly random permutation of 0..n-1 (randperm), as a vector.
std::vector<int64_t> permutation(int64_t n, Generator& gen) {
    Tensor p = randperm(n, gen);
    return {p.data<int64_t>(), p.data<int64_t>() + n};
}

void check_bags(const MilModel& model, const std::vector<Bag>& bags, const char* which) {
    for (size_t i = 0; i < bags.size(); ++i) {
        const Bag& b = bags[i];
        MARROW_CHECK(b.label >= 0 && b.label < model.classes(),
                     "train_mil: {} bag {} ({}) has label {}, the model has {} classes", which, i,
                     b.id, b.label, model.classes());
        MARROW_CHECK(b.instances.dim() == model.instance_rank() + 1 && b.instances.size(0) > 0,
                     "train_mil: {} bag {} ({}) must hold (N, {}) instances with N >= 1, got {}",
                     which, i, b.id, model.instance_rank() == 1 ? "D" : "C, h, w",
                     b.instances.shape());
    }
}

std::unique_ptr<nn::Optimizer> make_optimizer(const MilTrainOptions& o,
                                              std::vector<Tensor> params) {
    if (o.optimizer == "sgd")
        return std::make_unique<nn::SGD>(std::move(params),
                                         nn::SGDOptions{.lr = o.lr,
                                                        .momentum = o.momentum,
                                                        .weight_decay = o.weight_decay,
                                                        .nesterov = o.nesterov});
    if (o.optimizer == "adam")
        return std::make_unique<nn::Adam>(
            std::move(params), nn::AdamOptions{.lr = o.lr, .weight_decay = o.weight_decay});
    if (o.optimizer == "adamw")
        return std::make_unique<nn::AdamW>(
            std::move(params), nn::AdamWOptions{.lr = o.lr, .weight_decay = o.weight_decay});
    fail("train_mil: unknown optimizer \"{}\" (sgd, adam, adamw)", o.optimizer);
}

// torch's CosineAnnealingLR (T_max = max_epochs, eta_min 0) in closed form, per epoch.
double epoch_lr(const MilTrainOptions& o, int64_t epoch) {
    if (!o.cosine) return o.lr;
    return o.lr * 0.5 * (1 + std::cos(std::numbers::pi * double(epoch) / double(o.max_epochs)));
}

nn::StateDict snapshot(const nn::Module& model) {
    nn::StateDict copy;
    for (const auto& [key, t] : model.state_dict()) copy.insert(key, clone(t));
    return copy;
}

std::vector<double> to_doubles(const Tensor& t) {
    Tensor c = contiguous(to(t, Device::cpu(), DType::f64));
    return {c.data<double>(), c.data<double>() + c.numel()};
}

}  // namespace

Tensor sample_instances(const Tensor& instances, int64_t max_instances, bool shuffle, bool flip,
                        Generator& gen) {
    const int64_t n = instances.size(0);
    const int64_t keep = max_instances > 0 ? std::min(n, max_instances) : n;
    Tensor x = instances;
    if (shuffle || keep < n) {
        std::vector<int64_t> order = permutation(n, gen);
        order.resize(keep);
        if (!shuffle) std::sort(order.begin(), order.end());  // a subset in the bag's order
        x = index_select(instances, 0, from_vector(order, {keep}));
    }
    if (flip) {
        MARROW_CHECK(x.dim() == 4, "sample_instances: flips need feature maps (N, C, h, w), got {}",
                     instances.shape());
        // per instance, a coin for h and one for w: x = where(coin, flip(x), x)
        Tensor coins = lt(rand({keep, 2, 1, 1}, DType::f64, Device::cpu(), gen), 0.5);
        x = where(narrow(coins, 1, 0, 1), marrow::flip(x, {2}), x);
        x = where(narrow(coins, 1, 1, 1), marrow::flip(x, {3}), x);
    }
    return x;
}

std::vector<BagPrediction> predict_bags(MilModel& model, const std::vector<Bag>& bags) {
    autograd::NoGradGuard no_grad;
    bool was_training = model.is_training();
    model.eval();
    DType dtype = model.parameters().front().dtype();
    std::vector<BagPrediction> out;
    for (const Bag& bag : bags) {
        MilOutput o = model.forward(to(bag.instances, dtype));
        std::vector<double> logits = to_doubles(o.logits);
        int64_t predicted = std::max_element(logits.begin(), logits.end()) - logits.begin();
        double loss =
            bag.label >= 0 && bag.label < model.classes()
                ? nn::cross_entropy(o.logits, from_vector<int64_t>({bag.label}, {1})).item()
                : std::numeric_limits<double>::quiet_NaN();
        out.push_back({bag.id, bag.label, predicted, to_doubles(softmax(o.logits, 1)), logits, loss,
                       squeeze(o.attention, 0), squeeze(o.attention_raw, 0),
                       squeeze(o.features, 0)});
    }
    model.train(was_training);
    return out;
}

MilTrainResult train_mil(MilModel& model, const std::vector<Bag>& train,
                         const std::vector<Bag>& val, const MilTrainOptions& o,
                         MilTrainObserver* observer) {
    MARROW_CHECK(!train.empty(), "train_mil: no training bags");
    MARROW_CHECK(o.max_epochs >= 1 && o.accumulate >= 1 && o.batch_bags >= 1,
                 "train_mil: max_epochs, accumulate and batch_bags must be >= 1 (got {}, {}, {})",
                 o.max_epochs, o.accumulate, o.batch_bags);
    check_bags(model, train, "training");
    check_bags(model, val, "validation");
    MilTrainObserver quiet;
    MilTrainObserver& obs = observer ? *observer : quiet;
    const DType dtype = model.parameters().front().dtype();
    auto optimizer = make_optimizer(o, model.parameters());

    std::vector<double> sampler_weights;
    if (o.balanced_sampling) {
        std::vector<int64_t> counts = o.class_counts;
        if (counts.empty()) {
            counts.assign(model.classes(), 0);
            for (const Bag& b : train) ++counts[b.label];
        }
        std::vector<int64_t> labels;
        for (const Bag& b : train) labels.push_back(b.label);
        sampler_weights = scemila_sampler_weights(labels, counts);
    }

    MilTrainResult result;
    result.best_val_loss = o.initial_best_loss;
    nn::StateDict best = snapshot(model);  // SCEMILA: the initial state until val improves
    int64_t since_best = 0, first_epoch = 0;
    std::optional<nn::CheckpointDir> checkpoints;
    if (!o.run_dir.empty())
        checkpoints.emplace(std::filesystem::path(o.run_dir) / "checkpoints", 2);
    if (o.resume) {
        MARROW_CHECK(checkpoints, "train_mil: resume needs a run_dir");
        if (auto latest = checkpoints->latest()) {
            nn::Checkpoint ck = nn::load_checkpoint(*latest);
            nn::TrainingPosition pos = nn::restore_training(ck, {model, *optimizer});
            const nlohmann::json& m = ck.meta.at("mil");
            first_epoch = pos.epoch;
            result.steps = pos.step;
            result.best_epoch = m.at("best_epoch");
            result.best_val_loss = m.at("best_val_loss");
            since_best = m.at("since_best");
            for (const auto& [key, t] : ck.section("best")) best.insert(key, clone(t));
            for (const auto& e : m.at("epochs")) {
                EpochRecord r;
                r.epoch = e.at("epoch"), r.lr = e.at("lr"), r.best = e.at("best");
                auto num = [&](const char* k) {
                    return e.at(k).is_null() ? std::numeric_limits<double>::quiet_NaN()
                                             : e.at(k).get<double>();
                };
                r.train_loss = num("train_loss"), r.train_accuracy = num("train_accuracy");
                r.val_loss = num("val_loss"), r.val_accuracy = num("val_accuracy");
                r.seconds = e.at("seconds");
                result.epochs.push_back(r);
            }
            if (m.at("stopped_early")) {  // the run had ended: nothing left to do
                result.stopped_early = true;
                result.finished = true;
                model.load_state_dict(best);
                return result;
            }
        }
    }

    model.train();
    const int64_t n_train = static_cast<int64_t>(train.size());
    for (int64_t epoch = first_epoch; epoch < o.max_epochs; ++epoch) {
        if (o.stop_after_epochs >= 0 && epoch >= o.stop_after_epochs) return result;
        auto t0 = std::chrono::steady_clock::now();
        Generator gen = epoch_generator(o.seed, epoch);
        EpochRecord rec;
        rec.epoch = epoch;
        rec.lr = epoch_lr(o, epoch);
        optimizer->set_lr(rec.lr);
        std::vector<int64_t> order = o.balanced_sampling
                                         ? weighted_sample(sampler_weights, n_train, gen)
                                         : permutation(n_train, gen);
        obs.epoch_begin(epoch, n_train);

        // micro-batches of batch_bags bags; steps of `accumulate` micro-batches
        const int64_t micro = (n_train + o.batch_bags - 1) / o.batch_bags;
        double loss_sum = 0;
        int64_t correct = 0, done = 0;
        optimizer->zero_grad();
        for (int64_t m = 0; m < micro; ++m) {
            std::vector<Tensor> xs;
            std::vector<int64_t> labels;
            std::vector<std::string> ids;
            for (int64_t i = m * o.batch_bags; i < std::min(n_train, (m + 1) * o.batch_bags); ++i) {
                const Bag& bag = train[order[i]];
                xs.push_back(to(sample_instances(bag.instances, o.max_instances,
                                                 o.shuffle_instances, o.flip_instances, gen),
                                dtype));
                labels.push_back(bag.label);
                ids.push_back(bag.id);
            }
            const int64_t nb = static_cast<int64_t>(xs.size());
            MilOutput out = nb == 1 ? model.forward(xs[0]) : [&] {
                BatchedBags batch = pad_bags(xs);
                return model.forward(batch.bags, batch.mask);
            }();
            Tensor loss = nn::cross_entropy(out.logits, from_vector(labels, {nb}));
            double value = loss.item();
            if (!std::isfinite(value)) {
                fail(
                    "train_mil: epoch {}, micro-batch {} (bags {}): the cross-entropy is {}; "
                    "logits {} (lower the learning rate?)",
                    epoch, m, fmt::join(ids.begin(), ids.end(), ", "),
                    std::isnan(value) ? "NaN"
                    : value > 0       ? "inf"
                                      : "-inf",
                    fmt::join(to_doubles(out.logits), ", "));
            }
            const int64_t group_start = m / o.accumulate * o.accumulate;
            const int64_t group_size = std::min(o.accumulate, micro - group_start);
            double scale = o.accumulation == Accumulation::mean ? 1.0 / group_size : 1.0;
            (scale == 1.0 ? loss : loss * scale).backward();
            if (m + 1 == group_start + group_size) {
                bool dropped =
                    o.accumulation == Accumulation::sum_drop_remainder && group_size < o.accumulate;
                if (!dropped) {
                    optimizer->step();
                    ++result.steps;
                }
                optimizer->zero_grad();
            }
            Tensor predicted = argmax(out.logits, 1);
            for (int64_t i = 0; i < nb; ++i)
                correct += predicted.data<int64_t>()[i] == labels[i] ? 1 : 0;
            loss_sum += value * nb;
            done += nb;
            obs.bag_done(done, value);
        }
        rec.train_loss = loss_sum / n_train;
        rec.train_accuracy = double(correct) / n_train;

        // validation: every bag alone, all its instances, in order
        ++since_best;
        if (!val.empty()) {
            std::vector<BagPrediction> preds = predict_bags(model, val);
            double vl = 0;
            int64_t vc = 0;
            for (const BagPrediction& p : preds) {
                vl += p.loss;
                vc += p.predicted == p.label ? 1 : 0;
            }
            rec.val_loss = vl / double(preds.size());
            rec.val_accuracy = double(vc) / double(preds.size());
            MARROW_CHECK(std::isfinite(rec.val_loss),
                         "train_mil: epoch {}: the validation cross-entropy is {}", epoch,
                         rec.val_loss);
            if (rec.val_loss < result.best_val_loss) {
                best = snapshot(model);
                result.best_val_loss = rec.val_loss;
                result.best_epoch = epoch;
                since_best = 0;
                rec.best = true;
            }
        } else {
            rec.val_loss = rec.val_accuracy = std::numeric_limits<double>::quiet_NaN();
            best = snapshot(model);
            result.best_epoch = epoch;
            rec.best = true;
        }
        rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        result.epochs.push_back(rec);
        obs.epoch_end(rec);
        result.stopped_early = !val.empty() && o.patience > 0 && since_best >= o.patience;

        if (checkpoints) {
            nn::Checkpoint ck = nn::capture_training(
                {model, *optimizer}, {.step = result.steps, .epoch = epoch + 1}, o.to_json());
            ck.sections["best"] = best;
            nlohmann::json epochs = nlohmann::json::array();
            for (const EpochRecord& r : result.epochs) epochs.push_back(r.to_json());
            ck.meta["mil"] = {{"best_epoch", result.best_epoch},
                              {"best_val_loss", result.best_val_loss},
                              {"since_best", since_best},
                              {"stopped_early", result.stopped_early},
                              {"epochs", epochs}};
            checkpoints->save(epoch + 1, ck);
        }
        if (result.stopped_early) break;
    }
    result.finished = true;
    model.load_state_dict(best);
    return result;
}

}  // namespace marrow::mil
