// Random forest classifier with sklearn's RandomForestClassifier semantics (sklearn 1.2,
// sklearn/ensemble/_forest.py): Gini trees grown to purity by default, each on a bootstrap
// sample (n draws with replacement, passed to the tree as sample weights) with max_features
// features drawn per node; probabilities are the mean of the trees' leaf class frequencies.
// The classifier AE-CFE uses on autoencoder features, and the fourth model of `evaluate`.
//
//   eval::RandomForestClassifier forest({.n_estimators = 100, .seed = 0});
//   forest.fit(x_train, y_train);                 // x: (N, F) floating, y: (N) int64
//   Tensor proba = forest.predict_proba(x_test);  // (M, C) f64
//   Tensor pred = forest.predict(x_test);         // (M) int64
//
// Trees are grown in parallel (OpenMP); tree t draws from the Philox stream (seed, t), so the
// forest depends on the seed only, not on the thread count. Features are read as float32, as
// sklearn does. Exact splits as sklearn's BestSplitter, with 8-bit data taking an exact
// histogram path (Note [Exact histogram splits] in decision_tree.h). Not supported:
// sample_weight, class_weight, max_samples, max_leaf_nodes, min_impurity_decrease, oob_score.
#pragma once
#include <cstdint>
#include <vector>

#include "eval/decision_tree.h"
#include "tensor/tensor.h"

namespace marrow::eval {

// sklearn's max_features: "sqrt" (the classifier's default), "log2", an int count, a
// fraction in (0, 1] of the features, or None (all). Resolved at fit as sklearn does.
struct MaxFeatures {
    enum class Kind { sqrt, log2, count, fraction, all };
    Kind kind = Kind::sqrt;
    double value = 0;

    static MaxFeatures sqrt() { return {Kind::sqrt, 0}; }
    static MaxFeatures log2() { return {Kind::log2, 0}; }
    static MaxFeatures count(int64_t n) { return {Kind::count, double(n)}; }
    static MaxFeatures fraction(double f) { return {Kind::fraction, f}; }
    static MaxFeatures all() { return {Kind::all, 0}; }

    // Features per node for n_features: sqrt -> max(1, int(sqrt(F))), log2 -> max(1,
    // int(log2(F))), fraction -> max(1, int(f * F)), all -> F; a count must be in [1, F].
    int64_t resolve(int64_t n_features) const;
};

struct RandomForestOptions {
    int64_t n_estimators = 100;
    MaxFeatures max_features = MaxFeatures::sqrt();
    int64_t max_depth = -1;         // -1: grow until pure (sklearn's None)
    int64_t min_samples_split = 2;  // in distinct in-bag samples, as sklearn counts
    int64_t min_samples_leaf = 1;
    bool bootstrap = true;  // false: every tree sees every sample once
    uint64_t seed = 0;
    int n_threads = 0;  // 0: OpenMP's default team size
    // Tuning and test knobs (results do not depend on them): the node size from which
    // binned features use a histogram, the node size from which a subtree copies its
    // samples' codes (Note [Subtree blocks] in decision_tree.cpp; 0: never), and whether
    // features with <= 256 values are binned.
    int64_t histogram_min_samples = 32;
    int64_t block_max_samples = 8192;
    bool bin_features = true;
};

class RandomForestClassifier {
public:
    explicit RandomForestClassifier(RandomForestOptions options = {});

    // x: (N, F) floating point, finite; y: (N) int64 class indices in [0, num_classes).
    // num_classes < 0 takes 1 + max(y). A single class is fine (the forest predicts it).
    // Matches sklearn's RandomForestClassifier(criterion="gini").fit.
    RandomForestClassifier& fit(const Tensor& x, const Tensor& y, int64_t num_classes = -1);

    // (M, F) -> (M, C) f64: mean over trees of the leaf class frequencies (predict_proba).
    Tensor predict_proba(const Tensor& x) const;
    // (M, F) -> (M) int64: argmax of predict_proba, ties to the lowest class (predict).
    Tensor predict(const Tensor& x) const;
    // (F) f64: mean over trees (those with more than one node) of each tree's normalized
    // mean decrease in Gini impurity, normalized to sum 1 (feature_importances_).
    Tensor feature_importances() const;

    bool fitted() const { return !trees_.empty(); }
    int64_t num_classes() const { return n_classes_; }
    int64_t num_features() const { return n_features_; }
    const std::vector<DecisionTree>& trees() const { return trees_; }
    const RandomForestOptions& options() const { return options_; }

private:
    // Checks x against the fit and returns it as contiguous f32 on the CPU.
    Tensor prepare(const Tensor& x, const char* op) const;

    RandomForestOptions options_;
    std::vector<DecisionTree> trees_;
    int64_t n_classes_ = 0, n_features_ = 0;
};

}  // namespace marrow::eval
