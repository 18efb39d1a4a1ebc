// eval's kNN and logistic-regression probes against scikit-learn (fixtures from
// tests/golden/gen/gen_probe.py; the case list and options are in the fixture's metadata).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "eval/knn.h"
#include "eval/logistic_regression.h"
#include "tensor/safetensors.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;
using nlohmann::json;

namespace {

const SafetensorsFile& fixture() { return golden_fixture("probe"); }

const Tensor& get(const std::string& key) { return golden_tensor("probe", key, "gen_probe.py"); }

// (name, options) of every case of one kind.
std::vector<std::pair<std::string, json>> cases(const std::string& kind) {
    std::vector<std::pair<std::string, json>> out;
    for (const std::string name : json::parse(fixture().metadata.at("cases"))) {
        json options = json::parse(fixture().metadata.at(name));
        if (options["kind"] == kind) out.emplace_back(name, options);
    }
    REQUIRE(!out.empty());
    return out;
}

void check_close(const Tensor& ours, const Tensor& ref, TolClass c, const std::string& what) {
    Comparison cmp = compare(ours, ref, tolerance(c, DType::f64));
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

}  // namespace

TEST_CASE("kNN matches sklearn's KNeighborsClassifier (brute force)") {
    for (const auto& c : cases("knn")) {
        const std::string& name = c.first;  // not a structured binding: clang 14 cannot
        const json& o = c.second;           // capture those in CAPTURE's lambda
        CAPTURE(name);
        eval::KnnMetric metric =
            o["metric"] == "cosine" ? eval::KnnMetric::cosine : eval::KnnMetric::euclidean;
        eval::KnnVote vote =
            o["weights"] == "distance" ? eval::KnnVote::distance : eval::KnnVote::uniform;
        int64_t k = o["k"];
        eval::KNeighborsClassifier knn({.k = k, .metric = metric, .vote = {.vote = vote}});
        knn.fit(get(name + ".x"), get(name + ".y"), o["num_classes"]);
        check_close(knn.predict_proba(get(name + ".query")), get(name + ".proba"),
                    TolClass::elementwise, name + " proba");
        check_close(knn.predict(get(name + ".query")), get(name + ".pred"), TolClass::exact,
                    name + " predictions");
        if (o["exact_order"]) {
            eval::Neighbors nb =
                eval::kneighbors(get(name + ".x"), get(name + ".query"), k, metric);
            check_close(nb.indices, get(name + ".indices"), TolClass::exact, name + " indices");
            check_close(nb.distances, get(name + ".distances"), TolClass::reduction,
                        name + " distances");
        }
    }
}

TEST_CASE("kNN in float32 finds the same neighbours as in float64") {
    const std::string name = "knn_euclidean_uniform_k5";
    eval::Neighbors nb =
        eval::kneighbors(to(get(name + ".x"), DType::f32), to(get(name + ".query"), DType::f32), 5,
                         eval::KnnMetric::euclidean);
    check_close(nb.indices, get(name + ".indices"), TolClass::exact, "f32 indices");
}

TEST_CASE("LogisticRegression matches sklearn's LogisticRegression(lbfgs)") {
    for (const auto& c : cases("logreg")) {
        const std::string& name = c.first;
        const json& o = c.second;
        CAPTURE(name);
        eval::LogisticRegression model({.C = o["C"],
                                        .max_iter = 10000,
                                        .tol = 1e-10,
                                        .fit_intercept = o["fit_intercept"],
                                        .standardize = o["standardize"]});
        model.fit(get(name + ".x"), get(name + ".y"), o["num_classes"]);
        CHECK(model.converged());
        check_close(model.coef(), get(name + ".coef"), TolClass::solver, name + " coef");
        check_close(model.intercept(), get(name + ".intercept"), TolClass::solver,
                    name + " intercept");
        check_close(model.predict_proba(get(name + ".query")), get(name + ".proba"),
                    TolClass::solver, name + " proba");
        check_close(model.predict(get(name + ".query")), get(name + ".pred"), TolClass::exact,
                    name + " predictions");
    }
}

TEST_CASE("LogisticRegression::dinobloom is DinoBloom's C = F * classes / 100") {
    eval::LogisticRegressionOptions o = eval::LogisticRegression::dinobloom(8, 4);
    CHECK(o.C == doctest::Approx(0.32).epsilon(1e-15));
    CHECK(o.max_iter == 1000);
    double c_fixture = json::parse(fixture().metadata.at("logreg_dinobloom_absent_class"))["C"];
    CHECK(o.C == doctest::Approx(c_fixture).epsilon(1e-15));
}
