#include "mil/protocol.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::mil {

// ---- PythonRandom: MT19937 as CPython's Modules/_randommodule.c (Matsumoto & Nishimura's
// mt19937ar.c: init_genrand, init_by_array, genrand_uint32).

void PythonRandom::seed(uint64_t seed) {
    // random_seed(): the absolute value's 32-bit words, least significant first (at least one)
    std::vector<uint32_t> key = {static_cast<uint32_t>(seed)};
    if (seed >> 32) key.push_back(static_cast<uint32_t>(seed >> 32));
    auto& mt = state_;
    mt[0] = 19650218u;  // init_genrand(19650218)
    for (uint32_t i = 1; i < 624; ++i) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i;
    uint32_t i = 1, j = 0;
    const uint32_t n = 624, length = static_cast<uint32_t>(key.size());
    for (uint32_t k = std::max(n, length); k > 0; --k) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + j;
        ++i, ++j;
        if (i >= n) mt[0] = mt[n - 1], i = 1;
        if (j >= length) j = 0;
    }
    for (uint32_t k = n - 1; k > 0; --k) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - i;
        ++i;
        if (i >= n) mt[0] = mt[n - 1], i = 1;
    }
    mt[0] = 0x80000000u;  // MSB is 1, assuring a non-zero initial array
    index_ = 624;
}

uint32_t PythonRandom::next() {
    constexpr uint32_t kUpper = 0x80000000u, kLower = 0x7fffffffu, kMatrixA = 0x9908b0dfu;
    auto& mt = state_;
    if (index_ >= 624) {  // generate 624 words at one time
        for (int k = 0; k < 624; ++k) {
            uint32_t y = (mt[k] & kUpper) | (mt[(k + 1) % 624] & kLower);
            mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? kMatrixA : 0u);
        }
        index_ = 0;
    }
    uint32_t y = mt[index_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint32_t PythonRandom::getrandbits(int k) {
    MARROW_CHECK(k >= 1 && k <= 32, "PythonRandom::getrandbits: k must be in [1, 32], got {}", k);
    return next() >> (32 - k);
}

uint64_t PythonRandom::randbelow(uint64_t n) {
    MARROW_CHECK(n >= 1 && n < (uint64_t(1) << 32),
                 "PythonRandom::randbelow: n must be in [1, 2^32), got {}", n);
    int k = 64 - std::countl_zero(n);  // n.bit_length()
    uint64_t r = getrandbits(k);
    while (r >= n) r = getrandbits(k);
    return r;
}

// ---- SCEMILA's folds

std::vector<int> scemila_folds(const std::vector<std::string>& patient_ids,
                               const std::vector<int64_t>& labels, int folds, uint64_t seed) {
    MARROW_CHECK(patient_ids.size() == labels.size(), "scemila_folds: {} patient ids but {} labels",
                 patient_ids.size(), labels.size());
    MARROW_CHECK(folds >= 2, "scemila_folds: need at least 2 folds, got {}", folds);
    std::map<int64_t, std::vector<std::pair<std::string, size_t>>> classes;
    std::set<std::string> seen;
    for (size_t i = 0; i < patient_ids.size(); ++i) {
        MARROW_CHECK(seen.insert(patient_ids[i]).second, "scemila_folds: patient id \"{}\" twice",
                     patient_ids[i]);
        classes[labels[i]].emplace_back(patient_ids[i], i);
    }
    std::vector<int> out(patient_ids.size(), -1);
    const double share = 1.0 / folds;  // percent_per_split
    for (auto& [label, patients] : classes) {
        std::sort(patients.begin(), patients.end());  // sorted(value): by id
        PythonRandom rng(seed);                       // r.seed(42), fresh per class
        rng.shuffle(patients);
        const double n = static_cast<double>(patients.size());
        for (int f = 0; f < folds; ++f) {
            // round(fold * percent_per_split * len): Python's round is half to even, as
            // nearbyint in the default rounding mode; same operation order as upstream
            auto start = static_cast<size_t>(std::nearbyint(f * share * n));
            auto end = static_cast<size_t>(std::nearbyint((f + 1) * share * n));
            for (size_t i = start; i < end && i < patients.size(); ++i) out[patients[i].second] = f;
        }
    }
    return out;
}

data::Split scemila_split(const std::vector<int>& folds, int k) {
    data::Split split;
    for (size_t i = 0; i < folds.size(); ++i) {
        MARROW_CHECK(folds[i] >= 0 && folds[i] < 5, "scemila_split: item {} has fold {}, not 0..4",
                     i, folds[i]);
        int shifted = ((folds[i] - k) % 5 + 5) % 5;  // 0, 1, 2 train; 3 val; 4 test
        (shifted < 3 ? split.train : shifted == 3 ? split.val : split.test).push_back(int64_t(i));
    }
    return split;
}

// ---- sampling

std::vector<double> scemila_sampler_weights(const std::vector<int64_t>& train_labels,
                                            const std::vector<int64_t>& class_counts) {
    const double total = std::accumulate(class_counts.begin(), class_counts.end(), 0.0);
    const double classes = static_cast<double>(class_counts.size());
    std::vector<double> weights;
    for (int64_t y : train_labels) {
        MARROW_CHECK(y >= 0 && y < int64_t(class_counts.size()) && class_counts[y] > 0,
                     "scemila_sampler_weights: label {} has no count (counts for {} classes)", y,
                     class_counts.size());
        double freq = class_counts[y] / total;
        weights.push_back(1.0 / classes * (1.0 / freq));
    }
    return weights;
}

std::vector<int64_t> weighted_sample(const std::vector<double>& weights, int64_t n,
                                     Generator& gen) {
    MARROW_CHECK(!weights.empty(), "weighted_sample: no weights");
    std::vector<double> cumulative(weights.size());
    double total = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
        MARROW_CHECK(weights[i] >= 0 && std::isfinite(weights[i]),
                     "weighted_sample: weight {} is {}", i, weights[i]);
        cumulative[i] = total += weights[i];
    }
    MARROW_CHECK(total > 0, "weighted_sample: the weights sum to 0");
    Tensor u = rand({n}, DType::f64, Device::cpu(), gen);
    std::vector<int64_t> out;
    for (int64_t i = 0; i < n; ++i) {
        double target = u.data<double>()[i] * total;
        auto it = std::upper_bound(cumulative.begin(), cumulative.end(), target);
        out.push_back(std::min<int64_t>(it - cumulative.begin(), int64_t(weights.size()) - 1));
    }
    return out;
}

}  // namespace marrow::mil
