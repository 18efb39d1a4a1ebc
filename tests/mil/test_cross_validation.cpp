// Cross-validation over bags (mil/cross_validation.h) and the bag inputs (mil/bags.h): every
// bag is tested exactly once per seed, the folds follow the chosen rule, the metrics come per
// run and as mean +- sd, the model learns a task with key instances; features files with
// per-bag entries load into bags, and cells.csv rows are matched to the bags' cells.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "autograd/ops.h"
#include "mil/bags.h"
#include "mil/cross_validation.h"
#include "tensor/error.h"
#include "tensor/factory.h"
#include "tensor/npy.h"
#include "tensor/safetensors.h"

using namespace marrow;

namespace {

// Class 1 bags hold 1-3 key instances (first feature + 4); 30 bags of 8 features.
std::vector<mil::Bag> key_bags(int64_t count, uint64_t seed) {
    Generator gen(seed);
    std::vector<mil::Bag> bags;
    for (int64_t b = 0; b < count; ++b) {
        int64_t n = 5 + b % 6, label = b % 2;
        Tensor x = randn({n, 8}, DType::f32, Device::cpu(), gen);
        if (label == 1)
            for (int64_t k = 0; k <= b % 3; ++k) x.data<float>()[((b + 2 * k) % n) * 8] += 4;
        bags.push_back({fmt::format("p{:02d}", b), label, x});
    }
    return bags;
}

mil::MilCvOptions quick(const std::string& folds, int k) {
    mil::MilCvOptions o;
    o.model = "abmil";
    o.folds = folds;
    o.k = k;
    o.seeds = {0, 1};
    o.train.optimizer = "adam";
    o.train.lr = 3e-3;
    o.train.max_epochs = 30;
    o.train.patience = 0;
    o.train.accumulate = 2;
    o.train.accumulation = mil::Accumulation::mean;
    return o;
}

}  // namespace

TEST_CASE("run_mil_cv: each bag tested once per seed; metrics per run and as mean +- sd") {
    auto bags = key_bags(40, 1);
    for (const auto& rule :
         {std::pair{std::string("stratified"), 5}, std::pair{std::string("scemila"), 5}}) {
        // (named copies: clang 14 cannot capture structured bindings in lambdas, CAPTURE's too)
        const std::string folds = rule.first;
        const int k = rule.second;
        CAPTURE(folds);
        int calls = 0;
        mil::MilCvResult r = mil::run_mil_cv(bags, {"normal", "key"}, quick(folds, k),
                                             [&](int done, int total, const mil::MilFoldRun&) {
                                                 ++calls;
                                                 CHECK(done == calls);
                                                 CHECK(total == 2 * k);
                                             });
        REQUIRE(r.runs.size() == size_t(2 * k));
        for (uint64_t seed : {0u, 1u}) {
            std::multiset<int64_t> tested;
            for (const auto& run : r.runs) {
                if (run.seed != seed) continue;
                tested.insert(run.test.begin(), run.test.end());
                // train, val and test are disjoint and cover every bag
                std::set<int64_t> all(run.train.begin(), run.train.end());
                all.insert(run.val.begin(), run.val.end());
                all.insert(run.test.begin(), run.test.end());
                CHECK(all.size() == run.train.size() + run.val.size() + run.test.size());
                CHECK(all.size() == bags.size());
                CHECK(run.predictions.size() == run.test.size());
            }
            CHECK(tested.size() == bags.size());
            CHECK(std::set<int64_t>(tested.begin(), tested.end()).size() == bags.size());
            mil::PooledPredictions pooled = mil::pooled_predictions(r, seed);
            CHECK(pooled.y_true.size() == bags.size());
            CHECK(pooled.proba.cols == 2);
        }
        CHECK(r.summary.at("f1_macro").n == 2 * k);
        CHECK(r.summary.at("balanced_accuracy").mean > 0.85);
        CHECK(r.summary.at("roc_auc_macro").mean > 0.9);
        nlohmann::json j = r.to_json();
        CHECK(j["runs"].size() == size_t(2 * k));
        CHECK(j["summary"]["f1_macro"]["n"] == 2 * k);
    }
    // the SCEMILA folds are the same for every seed
    mil::MilCvOptions o = quick("scemila", 5);
    o.train.max_epochs = 1;
    mil::MilCvResult r = mil::run_mil_cv(bags, {"normal", "key"}, o);
    for (int f = 0; f < 5; ++f) CHECK(r.runs[size_t(f)].test == r.runs[size_t(5 + f)].test);
    CHECK_THROWS_WITH_AS(mil::run_mil_cv(bags, {"normal"}, o),
                         doctest::Contains("has label 1; there are 1 classes"), Error);
    o.k = 3;
    CHECK_THROWS_WITH_AS(mil::run_mil_cv(bags, {"normal", "key"}, o),
                         doctest::Contains("SCEMILA's split has 5 folds"), Error);
}

TEST_CASE("make_mil_model: the papers' models by name, for vectors or maps") {
    auto amil = mil::make_mil_model("amil", {512, 5, 5}, 5, 0);
    int64_t n = 0;
    for (const Tensor& p : amil->parameters()) n += p.numel();
    CHECK(n == 5'554'948);
    CHECK(mil::make_mil_model("abmil", {384}, 3, 0)->type_name() == "GatedAttention");
    CHECK(mil::make_mil_model("abmil_plain", {384}, 3, 0)->type_name() == "Attention");
    CHECK(mil::make_mil_model("amil_single", {384}, 3, 0)->heads() == 1);
    CHECK_THROWS_WITH_AS(mil::make_mil_model("abmil", {512, 5, 5}, 3, 0),
                         doctest::Contains("takes feature vectors"), Error);
    CHECK_THROWS_WITH_AS(mil::make_mil_model("clam", {384}, 3, 0),
                         doctest::Contains("unknown model \"clam\""), Error);
}

TEST_CASE("load_feature_bags and read_cell_annotations") {
    auto dir = std::filesystem::temp_directory_path() / "marrow_feature_bags_test";
    std::filesystem::create_directories(dir);
    // 3 bags of 2, 1 and 2 cells (the second unlabelled), 4 features each
    std::map<std::string, Tensor> t = {{"features", reshape(arange(0, 20, 1, DType::f32), {5, 4})},
                                       {"bag_offsets", from_vector<int64_t>({0, 2, 3, 5}, {4})},
                                       {"bag_labels", from_vector<int64_t>({1, -1, 0}, {3})}};
    std::map<std::string, std::string> m = {
        {"bag_ids", R"(["AAA", "BBB", "CCC"])"},
        {"bag_class_names", R"(["control", "NPM1"])"},
        {"paths", R"(["d/NPM1/AAA/001.TIF", "d/NPM1/AAA/002.TIF", "d/x/BBB/001.TIF",
                      "d/control/CCC/001.TIF", "d/control/CCC/002.TIF"])"}};
    save_safetensors((dir / "f.safetensors").string(), t, m);
    int64_t dropped = 0;
    mil::FeatureBags fb = mil::load_feature_bags(dir / "f.safetensors", &dropped);
    CHECK(dropped == 1);
    REQUIRE(fb.bags.size() == 2);
    CHECK(fb.bags[0].id == "AAA");
    CHECK(fb.bags[0].label == 1);
    CHECK(fb.bags[1].instances.shape() == Shape{2, 4});
    CHECK(fb.bags[1].instances.data<float>()[0] == 12);  // row 3
    CHECK(fb.bags[1].instance_names[1] == "d/control/CCC/002.TIF");
    CHECK(fb.class_names == std::vector<std::string>{"control", "NPM1"});

    std::ofstream(dir / "cells.csv") << "patient_id,file,cell_type,morphology,diagnostic,site\n"
                                        "AAA,001.TIF,blast,cup,1,A\nAAA,002.TIF,lymphocyte,,0,A\n"
                                        "CCC,001.TIF,neutrophil,,0,B\nCCC,002.TIF,monocyte,,0,B\n";
    mil::CellAnnotations cells = mil::read_cell_annotations(dir / "cells.csv", fb.bags);
    CHECK(cells.cell_type[0] == std::vector<std::string>{"blast", "lymphocyte"});
    CHECK(cells.diagnostic[0] == std::vector<bool>{true, false});
    CHECK(cells.cell_type[1][1] == "monocyte");

    save_safetensors((dir / "g.safetensors").string(), {{"features", zeros({2, 4})}}, {});
    CHECK_THROWS_WITH_AS(mil::load_feature_bags(dir / "g.safetensors"),
                         doctest::Contains("no \"bag_offsets\" (write it with extract_features "
                                           "--per-bag)"),
                         Error);
    std::ofstream(dir / "cells.csv") << "patient_id,file,cell_type,morphology,diagnostic,site\n";
    CHECK_THROWS_WITH_AS(mil::read_cell_annotations(dir / "cells.csv", fb.bags),
                         doctest::Contains("no row for d/NPM1/AAA/001.TIF"), Error);
    std::filesystem::remove_all(dir);
}

TEST_CASE(
    "load_scemila_features: SCEMILA's per-patient .npy layout, and AMiL cross-validated on it") {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() / "marrow_scemila_features_test";
    fs::remove_all(root);
    // 2 classes x 5 patients of 4-7 cells with (8, 5, 5) maps; class 1's cells are shifted so
    // AMiL can tell them apart; one patient folder without features.
    Generator gen(3);
    for (int64_t p = 0; p < 10; ++p) {
        const std::string label = p % 2 ? "PML_RARA" : "control";
        const fs::path dir = root / "data" / label / fmt::format("P{:02d}", p);
        fs::create_directories(dir);
        Tensor x = randn({4 + p % 4, 8, 5, 5}, DType::f32, Device::cpu(), gen);
        if (p % 2) x = add(x, scalar_tensor(1.5));
        save_npy((dir / "fnl34_bn_features_layer_7.npy").string(), x);
    }
    fs::create_directories(root / "data" / "control" / "P99");  // images only
    int64_t dropped = 0;
    mil::FeatureBags fb = mil::load_scemila_features(root, "fnl34_", &dropped);
    CHECK(dropped == 1);
    CHECK(fb.class_names == std::vector<std::string>{"PML_RARA", "control"});
    REQUIRE(fb.bags.size() == 10);
    CHECK(fb.bags[0].id == "P01");
    CHECK(fb.bags[0].label == 0);
    CHECK(fb.bags[0].instances.shape() == Shape{5, 8, 5, 5});
    CHECK(fb.bags[5].label == 1);
    CHECK(fb.bags[0].instance_names[4] == (root / "data/PML_RARA/P01/004.TIF").string());
    Tensor p03 = load_npy((root / "data/PML_RARA/P03/fnl34_bn_features_layer_7.npy").string());
    CHECK(equal(fb.bags[1].instances, p03));

    mil::MilCvOptions o = quick("stratified", 5);
    o.model = "amil";
    o.seeds = {0};
    o.train.max_epochs = 10;
    o.standardize = false;  // SCEMILA feeds the maps as they are
    mil::MilCvResult r = mil::run_mil_cv(fb.bags, fb.class_names, o);
    CHECK(r.runs.size() == 5);
    CHECK(r.summary.at("balanced_accuracy").mean == doctest::Approx(1.0));
    o.standardize = true;
    CHECK_THROWS_WITH_AS(mil::run_mil_cv(fb.bags, fb.class_names, o),
                         doctest::Contains("standardize off"), Error);

    // A patient whose maps differ from the others' is named.
    save_npy((root / "data/control/P99/fnl34_bn_features_layer_7.npy").string(),
             zeros({3, 8, 4, 4}));
    CHECK_THROWS_WITH_AS(mil::load_scemila_features(root),
                         doctest::Contains("cells of shape [3, 8, 4, 4], but P01 has"), Error);
    CHECK_THROWS_WITH_AS(mil::load_scemila_features(root, "dinobloom_"),
                         doctest::Contains("no dinobloom_bn_features_layer_7.npy under"), Error);
    fs::remove_all(root);
}
