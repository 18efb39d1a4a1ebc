// SCEMILA's cross-validation and sampling rules, to the letter (ssl_mil_spec.md 8.2, 8.4;
// marrlab/SCEMILA ml_pipeline/data_split.py, run_pipeline.py), so a run here puts the same
// patients in the same folds as the reference code does:
//   folds   per class: the patient ids sorted, Python's random.seed(42) fresh per class,
//           random.shuffle, fold f = the slice [round(f/5 n), round((f+1)/5 n)) (Python's
//           round: half to even);
//   run k   train folds {0, 1, 2} + k, validation {3} + k, test {4} + k, mod 5;
//   sampler WeightedRandomSampler weights (1/C) (1/freq of the bag's class), freq counted over
//           all of train + val + test, drawn with replacement, as many as training bags.
// Python's random module (MT19937 seeded by init_by_array, getrandbits, shuffle) is rebuilt
// here for that; plain stratified k-fold at patient level is data::stratified_folds.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/splits.h"
#include "tensor/random.h"

namespace marrow::mil {

// CPython's random.Random for integer seeds: seed(a) = init_by_array(32-bit words of |a|),
// getrandbits(k <= 32) = the next MT19937 word >> (32 - k), randbelow(n) by rejection with
// n.bit_length() bits, shuffle = Fisher-Yates from the back (Lib/random.py).
class PythonRandom {
public:
    explicit PythonRandom(uint64_t seed) { this->seed(seed); }
    void seed(uint64_t seed);
    uint32_t getrandbits(int k);
    uint64_t randbelow(uint64_t n);
    template <typename T>
    void shuffle(std::vector<T>& x) {
        for (size_t i = x.size(); i-- > 1;) std::swap(x[i], x[randbelow(i + 1)]);
    }

private:
    uint32_t next();
    std::array<uint32_t, 624> state_{};
    int index_ = 624;
};

// The fold (0..folds-1) of each patient by SCEMILA's rule; labels (any integers) group the
// patients into classes, ids must be unique.
std::vector<int> scemila_folds(const std::vector<std::string>& patient_ids,
                               const std::vector<int64_t>& labels, int folds = 5,
                               uint64_t seed = 42);
// SCEMILA's `--fold k` over 5 folds: train {0, 1, 2} + k, val {3} + k, test {4} + k (mod 5).
data::Split scemila_split(const std::vector<int>& folds, int k);

// SCEMILA's WeightedRandomSampler weight of each training bag: (1/C) / freq[label], freq[c] =
// class_counts[c] / total, the counts over every split (as upstream's label converter). A
// class with bags in training must have a positive count.
std::vector<double> scemila_sampler_weights(const std::vector<int64_t>& train_labels,
                                            const std::vector<int64_t>& class_counts);
// `n` indices drawn with replacement with probability weights[i] / sum (torch's
// WeightedRandomSampler, our generator).
std::vector<int64_t> weighted_sample(const std::vector<double>& weights, int64_t n, Generator& gen);

}  // namespace marrow::mil
