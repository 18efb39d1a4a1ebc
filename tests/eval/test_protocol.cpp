// eval's evaluation protocol, feature files and run outputs: folds keep a group together,
// the fixed split is used as given, summaries are the folds' mean and sd, the pooled
// predictions cover every row once, the loaders read what they document, the errors the
// issue asks for, and write_evaluation leaves every file it promises.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>

#include "eval/evaluation_report.h"
#include "eval/feature_io.h"
#include "tensor/factory.h"
#include "tensor/safetensors.h"

using namespace marrow;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("marrow_test_protocol_" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

// Three Gaussian blobs in 4-D, n rows each; easy for every method.
eval::LabelledFeatures blobs(int64_t n, uint64_t seed) {
    Generator gen(seed);
    Tensor x = randn({3 * n, 4}, DType::f32, Device::cpu(), gen);
    std::vector<int64_t> y;
    for (int64_t i = 0; i < 3 * n; ++i) {
        y.push_back(i % 3);
        x.data<float>()[i * 4 + i % 3] += 6;
    }
    return {x, y, {"a", "b", "c"}, {}, {}, std::nullopt};
}

}  // namespace

TEST_CASE("run_protocol: stratified folds, every method, summaries and pooling") {
    eval::LabelledFeatures d = blobs(20, 1);
    eval::ProtocolResult r = eval::run_protocol(
        d, {.methods = {"knn1", "knn5", "logreg", "forest"}, .folds = 4, .repeats = 2,
            .forest_trees = 10});
    REQUIRE(r.results.size() == 4 * 4 * 2);
    for (const eval::FoldResult& f : r.results) {
        CAPTURE(f.method);
        CHECK(f.metrics.at("accuracy") > 0.9);
        CHECK(f.proba.rows == int64_t(f.rows.size()));
        CHECK(f.proba.cols == 3);
    }
    // The summary is the mean and sample sd of the fold values.
    std::vector<double> acc;
    for (const eval::FoldResult& f : r.results)
        if (f.method == "logreg") acc.push_back(f.metrics.at("accuracy"));
    double mean = 0, ss = 0;
    for (double a : acc) mean += a / double(acc.size());
    for (double a : acc) ss += (a - mean) * (a - mean);
    eval::MeanSd ms = eval::summarize(r)[2].metrics.at("accuracy");
    CHECK(ms.mean == doctest::Approx(mean).epsilon(1e-14));
    CHECK(ms.sd == doctest::Approx(std::sqrt(ss / double(acc.size() - 1))).epsilon(1e-12));
    CHECK(ms.n == 8);
    // Pooled: each row exactly once per repeat.
    eval::FoldResult p = eval::pooled(r, "knn1", 1);
    REQUIRE(p.rows.size() == 60);
    for (int64_t i = 0; i < 60; ++i) CHECK(p.rows[size_t(i)] == i);
}

TEST_CASE("run_protocol: groups stay in one fold; a fixed split is used as given") {
    eval::LabelledFeatures d = blobs(12, 2);
    for (size_t i = 0; i < d.labels.size(); ++i)  // patients of 3 rows, one class each
        d.groups.push_back(fmt::format("p{}_{}", d.labels[i], i / 9));
    eval::ProtocolResult r = eval::run_protocol(d, {.methods = {"knn1"}, .folds = 2});
    std::map<std::string, std::set<int>> folds_of_group;
    for (const eval::FoldResult& f : r.results)
        for (int64_t row : f.rows) folds_of_group[d.groups[size_t(row)]].insert(f.fold);
    for (const auto& [group, folds] : folds_of_group) CHECK(folds.size() == 1);
    CHECK(r.grouped);
    CHECK(eval::summary_table(r).find("2 patient-grouped folds") != std::string::npos);

    eval::LabelledFeatures s = blobs(10, 3);
    s.split.assign(30, 0);
    for (int i = 20; i < 30; ++i) s.split[size_t(i)] = 1;
    eval::ProtocolResult fixed = eval::run_protocol(s, {.methods = {"knn1"}, .folds = 5});
    REQUIRE(fixed.results.size() == 1);
    CHECK(fixed.results[0].rows.front() == 20);
    CHECK(fixed.results[0].rows.size() == 10);
}

TEST_CASE("run_protocol: errors") {
    eval::LabelledFeatures d = blobs(4, 4);
    d.labels.pop_back();
    CHECK_THROWS_WITH_AS(eval::run_protocol(d, {}), doctest::Contains("12 feature rows but 11 labels"),
                         Error);
    d = blobs(4, 4);
    d.features.data<float>()[4 * 7 + 2] = NAN;
    CHECK_THROWS_WITH_AS(eval::run_protocol(d, {}),
                         doctest::Contains("non-finite value (nan) in row 7, column 2"), Error);
    d = blobs(4, 4);
    CHECK_THROWS_WITH_AS(eval::run_protocol(d, {.methods = {"knn1"}, .folds = 13}),
                         doctest::Contains("has no test rows"), Error);
    CHECK_THROWS_WITH_AS(eval::run_protocol(d, {.methods = {"svm"}}),
                         doctest::Contains("unknown method \"svm\""), Error);
    d.split.assign(12, 1);  // train on the rows of class 1 ("b") only
    for (int i = 0; i < 12; ++i)
        if (d.labels[size_t(i)] == 1) d.split[size_t(i)] = 0;
    CHECK_THROWS_WITH_AS(eval::run_protocol(d, {.methods = {"knn1"}}),
                         doctest::Contains("hold a single class (b)"), Error);
}

TEST_CASE("load_labelled_features: safetensors + CSV with names, groups and split") {
    TempDir dir;
    Tensor x = from_vector<float>({0, 1, 2, 3, 4, 5}, {3, 2});
    save_safetensors((dir.path / "f.safetensors").string(), {{"features", x}});
    {
        std::ofstream csv(dir.path / "labels.csv");
        csv << "label,group,split\nblast,p1,train\nlymphocyte,p2,test\nblast,p1,train\n";
    }
    eval::LabelledFeatures d = eval::load_labelled_features((dir.path / "f.safetensors").string(),
                                                            (dir.path / "labels.csv").string());
    CHECK(d.class_names == std::vector<std::string>{"blast", "lymphocyte"});
    CHECK(d.labels == std::vector<int64_t>{0, 1, 0});
    CHECK(d.groups == std::vector<std::string>{"p1", "p2", "p1"});
    CHECK(d.split == std::vector<int>{0, 1, 0});
    {
        std::ofstream csv(dir.path / "short.csv");
        csv << "label\n1\n0\n";
    }
    CHECK_THROWS_WITH_AS(eval::load_labelled_features((dir.path / "f.safetensors").string(),
                                                      (dir.path / "short.csv").string()),
                         doctest::Contains("2 label rows but the features have 3 rows"), Error);
    CHECK_THROWS_WITH_AS(eval::load_labelled_features((dir.path / "f.safetensors").string()),
                         doctest::Contains("no labels"), Error);
    save_safetensors((dir.path / "g.safetensors").string(), {{"feats", x}});
    CHECK_THROWS_WITH_AS(eval::load_labelled_features((dir.path / "g.safetensors").string()),
                         doctest::Contains("no \"features\" tensor"), Error);
}

TEST_CASE("write_evaluation: results, predictions, figures and the report") {
    TempDir dir;
    eval::LabelledFeatures d = blobs(15, 5);
    d.images = zeros({45, 8, 8}, DType::u8);
    eval::ProtocolResult r =
        eval::run_protocol(d, {.methods = {"knn1", "logreg"}, .folds = 3});
    eval::write_evaluation(dir.path, r, d, {{"features", "blobs"}},
                           {.embedding_points = 40, .umap = true});
    for (const char* name : {"results.json", "predictions_knn1.csv", "predictions_logreg.csv",
                             "report.html", "figures/confusion_knn1.svg", "figures/roc_logreg.svg",
                             "figures/pca.svg", "figures/umap.svg"})
        CHECK_MESSAGE(fs::exists(dir.path / name), name);
    std::ifstream in(dir.path / "report.html");
    std::string html((std::istreambuf_iterator<char>(in)), {});
    CHECK(html.find("Confusion matrix, 1-NN") != std::string::npos);
    CHECK(html.find("logistic regression") != std::string::npos);
    nlohmann::json results = nlohmann::json::parse(std::ifstream(dir.path / "results.json"));
    for (const char* method : {"knn1", "logreg"}) {
        const auto& ci = results["methods"][method]["bootstrap_ci95_pooled"]["balanced_accuracy"];
        CHECK(ci["lower"].get<double>() <= ci["estimate"].get<double>());
        CHECK(ci["estimate"].get<double>() <= ci["upper"].get<double>());
        CHECK(results["methods"][method]["folds"].size() == 3);
    }
    std::string table = eval::summary_table(r);
    CHECK(table.find("balanced acc.") != std::string::npos);
    CHECK(table.find("3 stratified folds") != std::string::npos);
}
