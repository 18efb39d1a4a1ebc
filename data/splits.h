// Patient-level splits, seeded and saved, so a cross-validation run can be reproduced exactly
// and never puts cells of one patient on both sides. Stratified k-fold: each class's patients
// are shuffled (Philox, keyed by the seed) and dealt round-robin into the k folds, so every
// fold holds each class in proportion (within one patient). The AML paper's 60/20/20
// train/val/test split is k = 5 with test = fold f, validation = fold f + 1 (mod 5).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace marrow::data {

// Fold (0..k-1) of each item; `labels` per item (any integers; -1 is just another group).
std::vector<int> stratified_folds(const std::vector<int64_t>& labels, int k, uint64_t seed);

struct Split {
    std::vector<int64_t> train, val, test;  // item indices, ascending
};
Split fold_split(const std::vector<int>& folds, int test_fold, int val_fold);
// k = 5 folds: test = fold `f`, val = fold (f + 1) % 5, train = the other three (60/20/20).
Split train_val_test(const std::vector<int>& folds, int f);

// A saved assignment: item ids (patient ids, or image paths) to folds, with how it was made.
struct FoldFile {
    std::string dataset;
    uint64_t seed = 0;
    int k = 0;
    std::vector<std::string> ids;
    std::vector<int> folds;
};
void save_folds(const std::filesystem::path& path, const FoldFile& folds);  // temp + rename
FoldFile load_folds(const std::filesystem::path& path);
// Folds for `ids` from a saved file; every id must be in it (an Error names the first that
// is not), so a dataset that changed since the split was made is noticed.
std::vector<int> folds_for(const FoldFile& saved, const std::vector<std::string>& ids);

}  // namespace marrow::data
