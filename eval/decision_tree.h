// One CART classification tree with Gini impurity, grown as sklearn's DecisionTreeClassifier
// with splitter="best" (sklearn/tree/_splitter.pyx BestSplitter, _tree.pyx
// DepthFirstTreeBuilder, _criterion.pyx Gini): the building block of eval::RandomForest-
// Classifier. Not meant to be used alone; the forest prepares the training set once and grows
// its trees on it with per-tree sample weights (bootstrap counts) and random streams.
//
// Note [Exact histogram splits]: a feature with at most 256 distinct values is stored as
// 8-bit codes (the rank of each value among the feature's distinct values). A node then finds
// the best threshold of that feature from a per-code histogram of class weights, which visits
// exactly the candidate thresholds of sklearn's sort-and-scan (midpoints between consecutive
// distinct values present in the node, values closer than 1e-7 merged as sklearn does), so
// the tree is the one sklearn's exact splitter would grow for the same feature draws. Small
// nodes sort instead (cheaper than a 256-bin histogram); features with more distinct values
// always take the sort path on their float values. Tests grow forests through all three paths
// and require identical predictions.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/philox.h"

namespace marrow::eval {

// A Philox stream keyed by (seed, stream): block k is philox::generate(seed, stream << 32 | k),
// so each tree's draws depend on (seed, tree index) only, never on the thread that grows it.
class PhiloxStream {
public:
    PhiloxStream(uint64_t seed, uint64_t stream) : seed_(seed), counter_(stream << 32) {}
    uint32_t next() {
        if (lane_ == 4) {
            block_ = philox::generate(seed_, counter_++);
            lane_ = 0;
        }
        return block_.v[lane_++];
    }
    // Uniform integer in [lo, hi), hi > lo, by the multiply-shift map of a 32-bit draw.
    int64_t uniform_int(int64_t lo, int64_t hi) {
        return lo + int64_t((uint64_t(next()) * uint64_t(hi - lo)) >> 32);
    }

private:
    uint64_t seed_, counter_;
    philox::Block block_{};
    int lane_ = 4;
};

// The training set as the tree builder reads it, built once per forest fit.
struct TreeTrainingSet {
    int64_t n_samples = 0, n_features = 0, n_classes = 0;
    std::vector<int32_t> y;  // (N) class index in [0, n_classes)
    // Feature f is binned when bin_values[f] is non-empty: its distinct values ascending, and
    // codes[f * N + i] is the index of x[i, f] in them. Otherwise its values are
    // columns[column_slot[f] * N + i].
    std::vector<std::vector<float>> bin_values;  // (F) lists of <= 256 values
    std::vector<uint8_t> codes;                  // (F, N) column-major
    std::vector<int64_t> column_slot;            // (F) index into columns, -1 when binned
    std::vector<float> columns;                  // (unbinned F, N) column-major

    // x: (N, F) row-major finite floats; y: (N) classes in [0, n_classes). bin = false stores
    // every feature as floats (the sort path only; tests compare the paths).
    static TreeTrainingSet build(const float* x, int64_t n_samples, int64_t n_features,
                                 const int64_t* y, int64_t n_classes, bool bin = true);
};

// How a tree grows; the forest resolves sklearn's option forms into these numbers.
struct TreeGrowOptions {
    int64_t max_features = 1;            // features evaluated per node (sklearn's max_features_)
    int64_t max_depth = INT64_MAX;       // root has depth 0
    int64_t min_samples_split = 2;       // already max(min_samples_split, 2 * min_samples_leaf)
    int64_t min_samples_leaf = 1;        // counted in distinct (in-bag) samples, as sklearn
    int64_t histogram_min_samples = 32;  // binned features use a histogram from this node size
    int64_t block_max_samples = 8192;    // subtrees from this node size work on local copies
};

class DecisionTree {
public:
    // Grows the tree on the samples with weight[i] > 0 (weight: (N) bootstrap counts; sklearn
    // passes them as sample_weight), drawing the features of each node from rng.
    void fit(const TreeTrainingSet& data, const std::vector<int32_t>& weight,
             const TreeGrowOptions& options, PhiloxStream& rng);

    // Adds this tree's class probabilities for one sample (row: F floats) to out[0..C): the
    // weighted class frequencies of the leaf the sample falls in (sklearn's
    // DecisionTreeClassifier.predict_proba). Goes left when row[feature] <= threshold.
    void add_proba(const float* row, double* out) const;

    // Mean decrease in Gini impurity per feature, normalized to sum 1 (all zeros for a single
    // leaf): sklearn's DecisionTreeClassifier.feature_importances_. (F) values.
    const std::vector<double>& feature_importances() const { return importances_; }

    int64_t node_count() const { return int64_t(nodes_.size()); }
    int64_t depth() const { return depth_; }

private:
    struct Node {
        int32_t feature = -1;  // -1: leaf
        int32_t left = 0;      // internal: child ids; leaf: left is the leaf index
        int32_t right = 0;
        double threshold = 0;
    };
    std::vector<Node> nodes_;
    std::vector<double> leaf_proba_;  // (leaves, C)
    std::vector<double> importances_;
    int64_t n_classes_ = 0;
    int64_t depth_ = 0;

    friend class TreeBuilder;
};

}  // namespace marrow::eval
