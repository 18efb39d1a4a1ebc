// Training a MIL model on bags of frozen instance features, with the rules of the two papers:
//   SCEMILA (ssl_mil_spec.md 8.4): one bag per micro-batch, SGD lr 5e-5 Nesterov, a fresh
//     random instance order per bag per epoch, class-balanced sampling with its weights,
//     backward after every bag and a step every 20 with the SUM of their gradients (the
//     remainder of an epoch discarded), early stopping on the mean validation cross-entropy
//     (best starts at 10, patience 20, at most 150 epochs), the best state restored;
//   the SSL-MIL seed (000, section 4.2): SGD Nesterov lr 0.015 with a cosine over the epochs,
//     the mean gradient of 10 bags per step (the seed does not say sum or mean), at most 500
//     instances per bag (a fresh random subset each epoch), random horizontal and vertical flips of
//     each instance, 50 epochs or a plateau of 20.
// Masked batches of several bags (batch_bags > 1) and the mean-of-k accumulation rule are
// there for ABMIL-style training. Every epoch's data order depends only on (seed, epoch), so a
// run resumed from its last checkpoint (run_dir/checkpoints, written after every epoch)
// continues bit-identically.
//
//   mil::Amil model({.classes = 5});
//   mil::MilTrainResult r = mil::train_mil(model, train_bags, val_bags,
//                                          mil::MilTrainOptions::scemila());
//   std::vector<mil::BagPrediction> test = mil::predict_bags(model, test_bags);
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mil/models.h"
#include "tensor/random.h"

namespace marrow::mil {

// One patient: its instances (cells) and its label.
struct Bag {
    std::string id;
    int64_t label = -1;
    Tensor instances;                              // (N, *instance), floating, on the CPU
    std::vector<std::string> instance_names = {};  // optional, one per instance (cell paths)
};

enum class Accumulation {
    sum_drop_remainder,  // SCEMILA: the sum of `accumulate` gradients; an epoch's rest dropped
    mean,                // each loss / k (k = micro-batches in that step; the rest is stepped)
};

struct MilTrainOptions {
    int64_t max_epochs = 150;
    int64_t patience = 20;  // epochs without a lower validation loss before stopping; 0: never
    double initial_best_loss = 10;  // SCEMILA's: the initial state is kept unless val goes below
    std::string optimizer = "sgd";  // sgd | adam | adamw
    double lr = 5e-5;
    double momentum = 0.9;  // sgd
    bool nesterov = true;   // sgd
    double weight_decay = 0;
    bool cosine = false;      // lr follows a cosine from lr to 0 over max_epochs (per epoch)
    int64_t batch_bags = 1;   // bags per micro-batch (> 1: padded, masked batches; mean loss)
    int64_t accumulate = 20;  // micro-batches per optimizer step
    Accumulation accumulation = Accumulation::sum_drop_remainder;
    // SCEMILA's WeightedRandomSampler (as many draws as training bags, with replacement);
    // false: every training bag once per epoch in a random order.
    bool balanced_sampling = true;
    // Bags per class over every split for the sampler's weights (SCEMILA counts train, val
    // and test); empty: the training bags' counts.
    std::vector<int64_t> class_counts = {};
    bool shuffle_instances = true;  // a fresh random instance order per bag and epoch
    int64_t max_instances = 0;      // > 0: at most this many per bag, a fresh subset each epoch
    bool flip_instances = false;    // feature maps only: each flipped in h and in w w.p. 1/2
    uint64_t seed = 0;
    std::string run_dir = "";        // checkpoints/ after every epoch ("" : none)
    bool resume = false;             // continue from run_dir's latest checkpoint
    int64_t stop_after_epochs = -1;  // stop (checkpointed) after this many epochs in all

    static MilTrainOptions scemila();  // the values above
    static MilTrainOptions
    ssl_mil_seed();  // seed 000: lr 0.015 cosine, 10 bags, 500 cells, flips, 50 epochs
    nlohmann::json to_json() const;
};

struct EpochRecord {
    int64_t epoch = 0;
    double lr = 0;
    double train_loss = 0, train_accuracy = 0;  // over the epoch's training bags (as drawn)
    double val_loss = 0, val_accuracy = 0;      // NaN without validation bags
    bool best = false;                          // the validation loss improved
    double seconds = 0;
    nlohmann::json to_json() const;
};

struct MilTrainResult {
    std::vector<EpochRecord> epochs;
    int64_t best_epoch = -1;  // -1: no epoch beat initial_best_loss; the initial state is kept
    double best_val_loss = 0;
    int64_t steps = 0;
    bool stopped_early = false;
    bool finished = false;  // false: stop_after_epochs cut it short (resume to continue)
};

// The loop reports here (the apps' progress bars); every method has a default.
class MilTrainObserver {
public:
    virtual ~MilTrainObserver() = default;
    virtual void epoch_begin(int64_t /*epoch*/, int64_t /*bags*/) {}
    virtual void bag_done(int64_t /*done*/, double /*loss*/) {}
    virtual void epoch_end(const EpochRecord& /*record*/) {}
};

// Trains `model` (its state at the call is the initial state) and leaves it in its best state
// (the lowest validation loss; without validation bags, the last epoch's). Errors: empty
// training set, labels outside the model's classes, instances that do not fit the model, a
// non-finite loss (naming the epoch, the bag and the logits).
MilTrainResult train_mil(MilModel& model, const std::vector<Bag>& train,
                         const std::vector<Bag>& val, const MilTrainOptions& options,
                         MilTrainObserver* observer = nullptr);

// A bag's prediction with every instance, in order (eval mode, no gradient).
struct BagPrediction {
    std::string id;
    int64_t label = -1, predicted = -1;
    std::vector<double> probabilities;  // softmax of the logits
    std::vector<double> logits;
    double loss = 0;       // cross-entropy (NaN when the label is -1)
    Tensor attention;      // (heads, N) softmax attention
    Tensor attention_raw;  // (heads, N)
    Tensor features;       // (heads, M) bag embeddings
};
std::vector<BagPrediction> predict_bags(MilModel& model, const std::vector<Bag>& bags);

// The per-epoch instance transform of the training loop: a random subset of at most
// max_instances (all when 0), in random order when shuffle, flipped when flip. (N, ...) in.
Tensor sample_instances(const Tensor& instances, int64_t max_instances, bool shuffle, bool flip,
                        Generator& gen);

}  // namespace marrow::mil
