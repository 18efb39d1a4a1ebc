// CART tree growth; see decision_tree.h. The structure follows sklearn 1.2's
// DepthFirstTreeBuilder.build (stack of nodes, leaf rules) and BestSplitter.node_split
// (feature draws, constant features, candidate thresholds); the Gini arithmetic is done on
// integer class weights (bootstrap counts), so every path sees identical numbers.
#include "eval/decision_tree.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "tensor/error.h"

namespace marrow::eval {

namespace {

// sklearn's FEATURE_THRESHOLD: sorted values closer than this are one value (no split
// between them), and a feature whose node range is within it is constant.
constexpr double kFeatureThreshold = 1e-7;
constexpr int kMaxBins = 256;
// Samples ahead whose feature value is prefetched in the gather loops (column reads are
// scattered once nodes are small: the gather is the cost of a split search).
constexpr int64_t kPrefetch = 16;

// Distinct values of one column if there are at most kMaxBins (then codes[i] = rank of
// col[i] among them), else an empty list. -0.0 and 0.0 are one value. One pass numbers the
// values in order of appearance; a 256-entry table then maps those ids to ranks.
std::vector<float> bin_column(const float* col, int64_t n, uint8_t* codes) {
    constexpr uint32_t kSlots = 1024, kEmpty = 0xFFFFFFFFu;  // NaN bits: never a key
    uint32_t keys[kSlots];
    uint8_t ids[kSlots];
    std::fill(keys, keys + kSlots, kEmpty);
    std::vector<float> values;
    uint32_t last = kEmpty;
    uint8_t id = 0;
    for (int64_t i = 0; i < n; ++i) {
        uint32_t key = std::bit_cast<uint32_t>(col[i] + 0.0f);
        if (key != last) {
            last = key;
            uint32_t h = (key * 0x9E3779B1u) >> 22;  // 10 bits
            while (keys[h] != kEmpty && keys[h] != key) h = (h + 1) & (kSlots - 1);
            if (keys[h] == kEmpty) {
                if (int64_t(values.size()) == kMaxBins) return {};
                keys[h] = key;
                ids[h] = uint8_t(values.size());
                values.push_back(col[i] + 0.0f);
            }
            id = ids[h];
        }
        codes[i] = id;
    }
    std::vector<int32_t> order(values.size());
    for (size_t r = 0; r < order.size(); ++r) order[r] = int32_t(r);
    std::sort(order.begin(), order.end(),
              [&](int32_t a, int32_t b) { return values[size_t(a)] < values[size_t(b)]; });
    uint8_t rank_of_id[kMaxBins];
    std::vector<float> sorted(values.size());
    for (size_t r = 0; r < order.size(); ++r) {
        rank_of_id[order[r]] = uint8_t(r);
        sorted[r] = values[size_t(order[r])];
    }
    for (int64_t i = 0; i < n; ++i) codes[i] = rank_of_id[codes[i]];
    return sorted;
}

// Order-preserving map of a float to uint32 (for sorting (value, sample) as one uint64).
uint32_t float_order_key(float v) {
    uint32_t u = std::bit_cast<uint32_t>(v);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

float float_from_order_key(uint32_t k) {
    return std::bit_cast<float>((k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k);
}

double gini(int64_t sum_sq, int64_t weight) {
    return 1.0 - double(sum_sq) / (double(weight) * double(weight));
}

}  // namespace

TreeTrainingSet TreeTrainingSet::build(const float* x, int64_t n_samples, int64_t n_features,
                                       const int64_t* y, int64_t n_classes, bool bin) {
    TreeTrainingSet d;
    d.n_samples = n_samples;
    d.n_features = n_features;
    d.n_classes = n_classes;
    d.y.assign(y, y + n_samples);
    d.bin_values.assign(size_t(n_features), {});
    d.column_slot.assign(size_t(n_features), -1);
    if (bin) {
        d.codes.assign(size_t(n_features * n_samples), 0);
        // Blocks of 16 columns: each row's 64 bytes are read once, then binned per column.
        constexpr int64_t kBlock = 16;
        const int64_t blocks = (n_features + kBlock - 1) / kBlock;
#pragma omp parallel
        {
            std::vector<float> col(size_t(kBlock * n_samples));
#pragma omp for schedule(dynamic)
            for (int64_t b = 0; b < blocks; ++b) {
                const int64_t f0 = b * kBlock, nf = std::min(kBlock, n_features - f0);
                for (int64_t i = 0; i < n_samples; ++i)
                    for (int64_t j = 0; j < nf; ++j)
                        col[size_t(j * n_samples + i)] = x[i * n_features + f0 + j];
                for (int64_t j = 0; j < nf; ++j)
                    d.bin_values[size_t(f0 + j)] =
                        bin_column(&col[size_t(j * n_samples)], n_samples,
                                   &d.codes[size_t((f0 + j) * n_samples)]);
            }
        }
    }
    int64_t unbinned = 0;
    for (int64_t f = 0; f < n_features; ++f)
        if (d.bin_values[size_t(f)].empty()) d.column_slot[size_t(f)] = unbinned++;
    d.columns.assign(size_t(unbinned * n_samples), 0.0f);
#pragma omp parallel for schedule(static)
    for (int64_t f = 0; f < n_features; ++f) {
        int64_t slot = d.column_slot[size_t(f)];
        if (slot < 0) continue;
        for (int64_t i = 0; i < n_samples; ++i)
            d.columns[size_t(slot * n_samples + i)] = x[i * n_features + f];
    }
    return d;
}

// Grows one DecisionTree: sklearn's DepthFirstTreeBuilder with BestSplitter and Gini.
class TreeBuilder {
public:
    TreeBuilder(const TreeTrainingSet& data, const std::vector<int32_t>& weight,
                const TreeGrowOptions& options, PhiloxStream& rng, DecisionTree& tree)
        : d_(data), w_(weight), opt_(options), rng_(rng), tree_(tree), C_(data.n_classes) {}

    void build();

private:
    struct Split {
        int64_t pos = 0;  // samples_[start, pos) go left; pos == end: no split
        int64_t feature = -1;
        int64_t bin = 0;  // binned features: codes <= bin go left
        double threshold = 0;
        double proxy = -DBL_MAX;
    };

    // Running left/right class weights of a scan over sorted values; proxy() is
    // sum_c L_c^2 / W_L + sum_c R_c^2 / W_R, which orders candidate splits as sklearn's
    // Gini proxy_impurity_improvement does (both are -W_L gini_L - W_R gini_R up to the
    // constant W).
    struct Scan {
        std::vector<int64_t> left, right;
        int64_t sq_left = 0, sq_right = 0, w_left = 0, w_right = 0, n_left = 0;
        void reset(const std::vector<int64_t>& total, int64_t sq_total, int64_t w_total) {
            std::fill(left.begin(), left.end(), 0);
            right = total;
            sq_left = 0;
            sq_right = sq_total;
            w_left = 0;
            w_right = w_total;
            n_left = 0;
        }
        void move(int64_t c, int64_t w) {
            sq_left += w * (2 * left[size_t(c)] + w);
            sq_right -= w * (2 * right[size_t(c)] - w);
            left[size_t(c)] += w;
            right[size_t(c)] -= w;
            w_left += w;
            w_right -= w;
        }
        double proxy() const {
            return double(sq_left) / double(w_left) + double(sq_right) / double(w_right);
        }
    };

    void node_totals(int64_t start, int64_t end);
    Split node_split(int64_t start, int64_t end, int64_t& n_constants);
    // Scans one feature; returns false when it is constant on the node.
    bool scan_histogram(int64_t f, int64_t start, int64_t end, Split& best);
    bool scan_sorted(int64_t f, int64_t start, int64_t end, Split& best);
    void consider(int64_t f, int64_t start, int64_t end, double lo, double hi, int64_t bin,
                  Split& best);
    void partition(const Split& split, int64_t start, int64_t end);

    const TreeTrainingSet& d_;
    const std::vector<int32_t>& w_;
    const TreeGrowOptions& opt_;
    PhiloxStream& rng_;
    DecisionTree& tree_;
    const int64_t C_;

    struct LabelWeight {
        int32_t y, w;
    };
    std::vector<LabelWeight> yw_;                // (N) class and weight, read together
    std::vector<int32_t> samples_, scratch_;     // in-bag sample ids, node ranges contiguous
    std::vector<int64_t> features_, constants_;  // sklearn's features / constant_features
    std::vector<int64_t> total_;                 // class weights of the current node
    int64_t sq_total_ = 0, w_total_ = 0;
    Scan scan_;
    std::vector<int32_t> hist_;  // (256, C + 1): class weights, then sample count, per code

    // Note [Subtree blocks]: once a node holds at most block_max_samples samples, its subtree
    // works on a private copy: samples_ holds local ids j (block_ids_[j] is the sample), and
    // a feature's codes are gathered into a contiguous column at its first use in the
    // subtree, so deep nodes read a few KB instead of scattered lines of the 60k-long
    // column. The subtree's nodes are the stack entries from block_floor_ up.
    int64_t block_n_ = 0;  // 0: no block, samples_ holds sample ids
    size_t block_floor_ = 0;
    std::vector<int32_t> block_ids_;
    std::vector<LabelWeight> block_yw_;
    std::vector<uint8_t> block_codes_, block_filled_;  // (F, block_n_), (F)

    const LabelWeight* yw() const { return block_n_ ? block_yw_.data() : yw_.data(); }
    int32_t sample_id(int32_t s) const { return block_n_ ? block_ids_[size_t(s)] : s; }
    const uint8_t* codes_of(int64_t f);
    void enter_block(int64_t start, int64_t end, size_t floor);
    std::vector<uint64_t> keys_;
};

void TreeBuilder::node_totals(int64_t start, int64_t end) {
    std::fill(total_.begin(), total_.end(), 0);
    for (int64_t i = start; i < end; ++i) {
        int32_t s = samples_[size_t(i)];
        total_[size_t(yw()[s].y)] += yw()[s].w;
    }
    sq_total_ = w_total_ = 0;
    for (int64_t c = 0; c < C_; ++c) {
        sq_total_ += total_[size_t(c)] * total_[size_t(c)];
        w_total_ += total_[size_t(c)];
    }
}

// A candidate between sorted values lo < hi with the scan's current left side: sklearn's
// min_samples_leaf rejection, strict improvement (the first best wins), and its threshold
// rule (midpoint, or lo when the midpoint rounds to hi).
void TreeBuilder::consider(int64_t f, int64_t start, int64_t end, double lo, double hi, int64_t bin,
                           Split& best) {
    const int64_t pos = start + scan_.n_left;
    if (pos - start < opt_.min_samples_leaf || end - pos < opt_.min_samples_leaf) return;
    double proxy = scan_.proxy();
    if (proxy > best.proxy) {
        best.proxy = proxy;
        best.pos = pos;
        best.feature = f;
        best.bin = bin;
        best.threshold = lo / 2.0 + hi / 2.0;
        if (best.threshold == hi || std::isinf(best.threshold)) best.threshold = lo;
    }
}

bool TreeBuilder::scan_histogram(int64_t f, int64_t start, int64_t end, Split& best) {
    const int64_t S = C_ + 1;
    const uint8_t* codes = codes_of(f);
    const LabelWeight* yw = this->yw();
    const std::vector<float>& values = d_.bin_values[size_t(f)];
    // hist_ is all zeros between calls: only the code range [first, last] is used and cleared.
    uint32_t first = kMaxBins, last = 0;
    for (int64_t i = start; i < end; ++i) {
        if (i + kPrefetch < end) __builtin_prefetch(&codes[samples_[size_t(i + kPrefetch)]]);
        int32_t s = samples_[size_t(i)];
        uint32_t code = codes[s];
        first = std::min(first, code);
        last = std::max(last, code);
        int32_t* h = &hist_[size_t(code * S)];
        h[yw[s].y] += yw[s].w;
        h[C_] += 1;
    }
    const bool varies = double(values[last]) > double(values[first]) + kFeatureThreshold;
    if (varies) {
        scan_.reset(total_, sq_total_, w_total_);
        double prev = 0;
        int64_t prev_bin = -1;
        for (int64_t b = first; b <= int64_t(last); ++b) {
            const int32_t* h = &hist_[size_t(b * S)];
            if (h[C_] == 0) continue;
            double v = values[size_t(b)];
            if (prev_bin >= 0 && v > prev + kFeatureThreshold)
                consider(f, start, end, prev, v, prev_bin, best);
            for (int64_t c = 0; c < C_; ++c)
                if (h[c] != 0) scan_.move(c, h[c]);
            scan_.n_left += h[C_];
            prev = v;
            prev_bin = b;
        }
    }
    std::fill(hist_.begin() + first * S, hist_.begin() + (last + 1) * S, 0);
    return varies;
}

bool TreeBuilder::scan_sorted(int64_t f, int64_t start, int64_t end, Split& best) {
    const int64_t n = end - start;
    const bool binned = !d_.bin_values[size_t(f)].empty();
    const uint8_t* codes = binned ? codes_of(f) : nullptr;
    const float* col =
        binned ? nullptr : &d_.columns[size_t(d_.column_slot[size_t(f)] * d_.n_samples)];
    keys_.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) {
        if (i + kPrefetch < n) {
            int32_t ahead = samples_[size_t(start + i + kPrefetch)];
            __builtin_prefetch(binned ? (const void*)&codes[ahead]
                                      : (const void*)&col[sample_id(ahead)]);
        }
        uint32_t s = uint32_t(samples_[size_t(start + i)]);
        uint64_t key =
            binned ? uint64_t(codes[s]) : uint64_t(float_order_key(col[sample_id(int32_t(s))]));
        keys_[size_t(i)] = key << 32 | s;
    }
    std::sort(keys_.begin(), keys_.end());
    // The sort key's high half is the code or the order-mapped float: no second gather.
    const std::vector<float>& bins = d_.bin_values[size_t(f)];
    auto value = [&](uint64_t key) -> double {
        uint32_t k = uint32_t(key >> 32);
        return binned ? double(bins[k]) : double(float_from_order_key(k));
    };
    if (value(keys_.back()) <= value(keys_.front()) + kFeatureThreshold) return false;
    scan_.reset(total_, sq_total_, w_total_);
    double prev = 0;
    for (int64_t i = 0; i < n; ++i) {
        uint32_t s = uint32_t(keys_[size_t(i)]);
        double v = value(keys_[size_t(i)]);
        if (i > 0 && v > prev + kFeatureThreshold)
            consider(f, start, end, prev, v, int64_t(keys_[size_t(i - 1)] >> 32), best);
        scan_.move(yw()[s].y, yw()[s].w);
        scan_.n_left += 1;
        prev = v;
    }
    return true;
}

// sklearn's BestSplitter.node_split: draw features without replacement until max_features
// have been visited and at least one of them was not constant (constant features count as
// visited; those known constant from an ancestor are skipped without a scan), keep the best
// split over all candidates. features_[0, n_constants) holds the node's known constants on
// entry and its known + newly found constants on exit, for the children.
TreeBuilder::Split TreeBuilder::node_split(int64_t start, int64_t end, int64_t& n_constants) {
    Split best;
    best.pos = end;
    const int64_t n_known = n_constants;
    int64_t f_i = d_.n_features, n_drawn_constants = 0, n_found_constants = 0;
    int64_t n_total_constants = n_known, n_visited = 0;
    while (f_i > n_total_constants &&
           (n_visited < opt_.max_features || n_visited <= n_found_constants + n_drawn_constants)) {
        ++n_visited;
        int64_t f_j = rng_.uniform_int(n_drawn_constants, f_i - n_found_constants);
        if (f_j < n_known) {  // a constant known from an ancestor
            std::swap(features_[size_t(n_drawn_constants)], features_[size_t(f_j)]);
            ++n_drawn_constants;
            continue;
        }
        f_j += n_found_constants;
        const int64_t f = features_[size_t(f_j)];
        const bool histogram =
            !d_.bin_values[size_t(f)].empty() && end - start >= opt_.histogram_min_samples;
        bool varies =
            histogram ? scan_histogram(f, start, end, best) : scan_sorted(f, start, end, best);
        if (!varies) {
            std::swap(features_[size_t(f_j)], features_[size_t(n_total_constants)]);
            ++n_found_constants;
            ++n_total_constants;
        } else {
            --f_i;
            std::swap(features_[size_t(f_i)], features_[size_t(f_j)]);
        }
    }
    // Restore the known constants' order for siblings, record the found ones for children.
    std::copy(constants_.begin(), constants_.begin() + n_known, features_.begin());
    std::copy(features_.begin() + n_known, features_.begin() + n_total_constants,
              constants_.begin() + n_known);
    n_constants = n_total_constants;
    return best;
}

// The codes of binned feature f indexed by the ids in samples_ (Note [Subtree blocks]).
const uint8_t* TreeBuilder::codes_of(int64_t f) {
    const uint8_t* global = &d_.codes[size_t(f * d_.n_samples)];
    if (block_n_ == 0) return global;
    uint8_t* col = &block_codes_[size_t(f * block_n_)];
    if (!block_filled_[size_t(f)]) {
        for (int64_t j = 0; j < block_n_; ++j) {
            if (j + kPrefetch < block_n_)
                __builtin_prefetch(&global[block_ids_[size_t(j + kPrefetch)]]);
            col[j] = global[block_ids_[size_t(j)]];
        }
        block_filled_[size_t(f)] = 1;
    }
    return col;
}

// Starts a subtree block at the node samples_[start, end) (sample ids, ascending).
void TreeBuilder::enter_block(int64_t start, int64_t end, size_t floor) {
    block_n_ = end - start;
    block_floor_ = floor;
    block_ids_.assign(samples_.begin() + start, samples_.begin() + end);
    block_yw_.resize(size_t(block_n_));
    for (int64_t j = 0; j < block_n_; ++j) {
        block_yw_[size_t(j)] = yw_[size_t(block_ids_[size_t(j)])];
        samples_[size_t(start + j)] = int32_t(j);
    }
    block_codes_.resize(size_t(d_.n_features * block_n_));
    block_filled_.assign(size_t(d_.n_features), 0);
}

// Stable partition of samples_[start, end) by the split (keeps ids ascending, so the
// column reads of the children stay sequential).
void TreeBuilder::partition(const Split& split, int64_t start, int64_t end) {
    const int64_t f = split.feature;
    const bool binned = !d_.bin_values[size_t(f)].empty();
    const uint8_t* codes = binned ? codes_of(f) : nullptr;
    int64_t nl = start, nr = 0;
    for (int64_t i = start; i < end; ++i) {
        int32_t s = samples_[size_t(i)];
        bool left = binned ? codes[s] <= split.bin
                           : double(d_.columns[size_t(d_.column_slot[size_t(f)] * d_.n_samples +
                                                      sample_id(s))]) <= split.threshold;
        if (left)
            samples_[size_t(nl++)] = s;
        else
            scratch_[size_t(nr++)] = s;
    }
    MARROW_CHECK(nl == split.pos, "DecisionTree: partition put {} samples left, the scan {}",
                 nl - start, split.pos - start);
    std::copy(scratch_.begin(), scratch_.begin() + nr, samples_.begin() + nl);
}

void TreeBuilder::build() {
    const int64_t N = d_.n_samples, F = d_.n_features;
    for (int64_t i = 0; i < N; ++i)
        if (w_[size_t(i)] > 0) samples_.push_back(int32_t(i));
    yw_.resize(size_t(N));
    for (int64_t i = 0; i < N; ++i) yw_[size_t(i)] = {d_.y[size_t(i)], w_[size_t(i)]};
    scratch_.resize(samples_.size());
    features_.resize(size_t(F));
    for (int64_t f = 0; f < F; ++f) features_[size_t(f)] = f;
    constants_.assign(size_t(F), 0);
    total_.assign(size_t(C_), 0);
    scan_.left.assign(size_t(C_), 0);
    hist_.assign(size_t(kMaxBins * (C_ + 1)), 0);
    tree_.nodes_.clear();
    tree_.leaf_proba_.clear();
    tree_.importances_.assign(size_t(F), 0.0);
    tree_.n_classes_ = C_;
    tree_.depth_ = 0;

    struct Record {
        int64_t start, end, depth, parent, n_constants;
        bool is_left;
    };
    std::vector<Record> stack{{0, int64_t(samples_.size()), 0, -1, 0, false}};
    std::vector<double> node_weighted_impurity;  // W * gini per node, for importances
    while (!stack.empty()) {
        Record r = stack.back();
        stack.pop_back();
        if (block_n_ > 0 && stack.size() < block_floor_) block_n_ = 0;  // left the subtree
        const int64_t n = r.end - r.start;
        node_totals(r.start, r.end);
        const double impurity = gini(sq_total_, w_total_);
        bool is_leaf = r.depth >= opt_.max_depth || n < opt_.min_samples_split ||
                       n < 2 * opt_.min_samples_leaf || impurity <= DBL_EPSILON;
        if (!is_leaf && block_n_ == 0 && n <= opt_.block_max_samples)
            enter_block(r.start, r.end, stack.size());
        Split split;
        int64_t n_constants = r.n_constants;
        if (!is_leaf) {
            split = node_split(r.start, r.end, n_constants);
            is_leaf = split.pos >= r.end;
        }
        const int32_t id = int32_t(tree_.nodes_.size());
        DecisionTree::Node node;
        if (r.parent >= 0) {
            DecisionTree::Node& parent = tree_.nodes_[size_t(r.parent)];
            (r.is_left ? parent.left : parent.right) = id;
            // Each child's W * gini is subtracted from its parent's feature (sklearn's
            // compute_feature_importances, node by node).
            tree_.importances_[size_t(parent.feature)] -= double(w_total_) * impurity;
        }
        tree_.depth_ = std::max(tree_.depth_, r.depth);
        if (is_leaf) {
            node.left = int32_t(int64_t(tree_.leaf_proba_.size()) / C_);
            for (int64_t c = 0; c < C_; ++c)
                tree_.leaf_proba_.push_back(double(total_[size_t(c)]) / double(w_total_));
            tree_.nodes_.push_back(node);
            continue;
        }
        node.feature = int32_t(split.feature);
        node.threshold = split.threshold;
        tree_.nodes_.push_back(node);
        tree_.importances_[size_t(split.feature)] += double(w_total_) * impurity;
        partition(split, r.start, r.end);
        stack.push_back({split.pos, r.end, r.depth + 1, id, n_constants, false});
        stack.push_back({r.start, split.pos, r.depth + 1, id, n_constants, true});
    }
    // Normalize to sum 1 (sklearn first divides by the root's weight, which cancels here).
    double total = 0;
    for (double v : tree_.importances_) total += v;
    if (total > 0)
        for (double& v : tree_.importances_) v /= total;
}

void DecisionTree::fit(const TreeTrainingSet& data, const std::vector<int32_t>& weight,
                       const TreeGrowOptions& options, PhiloxStream& rng) {
    MARROW_CHECK(int64_t(weight.size()) == data.n_samples,
                 "DecisionTree.fit: {} sample weights for {} samples", weight.size(),
                 data.n_samples);
    TreeBuilder(data, weight, options, rng, *this).build();
}

void DecisionTree::add_proba(const float* row, double* out) const {
    const Node* node = &nodes_[0];
    while (node->feature >= 0)
        node = &nodes_[size_t(double(row[node->feature]) <= node->threshold ? node->left
                                                                            : node->right)];
    const double* p = &leaf_proba_[size_t(node->left) * size_t(n_classes_)];
    for (int64_t c = 0; c < n_classes_; ++c) out[c] += p[c];
}

}  // namespace marrow::eval
