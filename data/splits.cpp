#include "data/splits.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "data/transforms.h"
#include "tensor/error.h"

namespace marrow::data {

std::vector<int> stratified_folds(const std::vector<int64_t>& labels, int k, uint64_t seed) {
    MARROW_CHECK(k >= 2, "stratified_folds: k = {} (at least 2 folds)", k);
    std::map<int64_t, std::vector<int64_t>> by_class;
    for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(int64_t(i));
    std::vector<int> folds(labels.size(), -1);
    int next = 0;  // dealing continues across classes, so fold sizes differ by at most one
    for (auto& [label, members] : by_class) {
        SampleRng rng(seed, 0, uint64_t(label), ~uint64_t(0) - 2);
        for (int64_t i = int64_t(members.size()) - 1; i > 0; --i)
            std::swap(members[size_t(i)], members[size_t(rng.integer(0, i + 1))]);
        for (int64_t m : members) {
            folds[size_t(m)] = next;
            next = (next + 1) % k;
        }
    }
    return folds;
}

Split fold_split(const std::vector<int>& folds, int test_fold, int val_fold) {
    MARROW_CHECK(test_fold != val_fold, "fold_split: test and validation fold are both {}",
                 test_fold);
    Split s;
    for (size_t i = 0; i < folds.size(); ++i) {
        int f = folds[i];
        (f == test_fold ? s.test : f == val_fold ? s.val : s.train).push_back(int64_t(i));
    }
    return s;
}

Split train_val_test(const std::vector<int>& folds, int f) {
    MARROW_CHECK(f >= 0 && f < 5, "train_val_test: fold {} (0..4)", f);
    return fold_split(folds, f, (f + 1) % 5);
}

void save_folds(const std::filesystem::path& path, const FoldFile& file) {
    MARROW_CHECK(file.ids.size() == file.folds.size(), "save_folds: {} ids but {} folds",
                 file.ids.size(), file.folds.size());
    nlohmann::ordered_json j;
    j["dataset"] = file.dataset;
    j["seed"] = file.seed;
    j["k"] = file.k;
    nlohmann::ordered_json assignment = nlohmann::ordered_json::object();
    for (size_t i = 0; i < file.ids.size(); ++i) assignment[file.ids[i]] = file.folds[i];
    j["folds"] = assignment;
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp);
        if (!out) fail("save_folds: cannot write {}", tmp.string());
        out << j.dump(2) << "\n";
        if (!out) fail("save_folds: error writing {}", tmp.string());
    }
    std::filesystem::rename(tmp, path);
}

FoldFile load_folds(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) fail("load_folds: cannot open {}", path.string());
    nlohmann::ordered_json j;
    try {
        j = nlohmann::ordered_json::parse(in);
        FoldFile f;
        f.dataset = j.at("dataset").get<std::string>();
        f.seed = j.at("seed").get<uint64_t>();
        f.k = j.at("k").get<int>();
        for (const auto& [id, fold] : j.at("folds").items()) {
            int v = fold.get<int>();
            if (v < 0 || v >= f.k)
                fail("load_folds: {}: fold {} of '{}' is not in [0, {})", path.string(), v, id,
                     f.k);
            f.ids.push_back(id);
            f.folds.push_back(v);
        }
        return f;
    } catch (const nlohmann::json::exception& e) {
        fail("load_folds: {}: not a fold file ({})", path.string(), e.what());
    }
}

std::vector<int> folds_for(const FoldFile& saved, const std::vector<std::string>& ids) {
    std::map<std::string, int> by_id;
    for (size_t i = 0; i < saved.ids.size(); ++i) by_id[saved.ids[i]] = saved.folds[i];
    std::vector<int> folds;
    for (const std::string& id : ids) {
        auto it = by_id.find(id);
        if (it == by_id.end())
            fail("folds_for: '{}' is not in the saved split of dataset '{}' ({} ids)", id,
                 saved.dataset, saved.ids.size());
        folds.push_back(it->second);
    }
    return folds;
}

}  // namespace marrow::data
