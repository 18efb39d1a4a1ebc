// Patient-level stratified folds: balance, seeding, the 60/20/20 split, and the JSON round trip.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "data/splits.h"
#include "tensor/error.h"

using namespace marrow;
using namespace marrow::data;

TEST_CASE("stratified folds: every fold holds each class in proportion") {
    std::vector<int64_t> labels;
    for (int c = 0; c < 5; ++c)
        for (int i = 0; i < 20 + 7 * c; ++i) labels.push_back(c);  // 20, 27, 34, 41, 48
    std::vector<int> folds = stratified_folds(labels, 5, 3);
    std::map<std::pair<int, int64_t>, int> count;  // (fold, class) -> patients
    std::vector<int> size(5, 0);
    for (size_t i = 0; i < labels.size(); ++i) {
        ++count[{folds[i], labels[i]}];
        ++size[size_t(folds[i])];
    }
    for (int c = 0; c < 5; ++c) {
        int per = (20 + 7 * c) / 5;
        for (int f = 0; f < 5; ++f) {
            CHECK(count[{f, c}] >= per);
            CHECK(count[{f, c}] <= per + 1);
        }
    }
    CHECK(*std::max_element(size.begin(), size.end()) -
              *std::min_element(size.begin(), size.end()) <=
          1);
    CHECK(stratified_folds(labels, 5, 3) == folds);
    CHECK(stratified_folds(labels, 5, 4) != folds);

    Split s = train_val_test(folds, 4);
    CHECK(s.train.size() + s.val.size() + s.test.size() == labels.size());
    CHECK(double(s.train.size()) / double(labels.size()) == doctest::Approx(0.6).epsilon(0.02));
    for (int64_t i : s.test) CHECK(folds[size_t(i)] == 4);
    for (int64_t i : s.val) CHECK(folds[size_t(i)] == 0);
    CHECK_THROWS_WITH_AS(stratified_folds(labels, 1, 0), doctest::Contains("at least 2"), Error);
}

TEST_CASE("fold files: saved, loaded, and checked against the dataset") {
    std::filesystem::path path = std::filesystem::temp_directory_path() / "marrow_folds.json";
    FoldFile f{"aml_hehr", 7, 5, {"AAA", "BBB", "CCC"}, {0, 3, 4}};
    save_folds(path, f);
    FoldFile g = load_folds(path);
    CHECK(g.dataset == "aml_hehr");
    CHECK(g.seed == 7);
    CHECK(g.ids == f.ids);
    CHECK(g.folds == f.folds);
    CHECK(folds_for(g, {"CCC", "AAA"}) == std::vector<int>{4, 0});
    CHECK_THROWS_WITH_AS(folds_for(g, {"ZZZ"}), doctest::Contains("'ZZZ' is not in the saved"),
                         Error);
    std::ofstream(path) << "{\"dataset\": \"x\", \"seed\": 1, \"k\": 2, \"folds\": {\"A\": 5}}";
    CHECK_THROWS_WITH_AS(load_folds(path), doctest::Contains("fold 5 of 'A' is not in [0, 2)"),
                         Error);
    std::ofstream(path) << "[1, 2";
    CHECK_THROWS_WITH_AS(load_folds(path), doctest::Contains("not a fold file"), Error);
    std::filesystem::remove(path);
}
