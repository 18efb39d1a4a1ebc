// eval::PCA against sklearn.decomposition.PCA (fixture: tests/golden/gen/gen_pca.py): the exact
// solver's components (with svd_flip's signs), explained variance (ratio), singular values,
// noise variance, transform and inverse_transform; the randomized solver on a decaying
// spectrum; sklearn's 'auto' rule; whitening; errors.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "eval/dense_linalg.h"
#include "eval/pca.h"
#include "tensor/safetensors.h"
#include "tests/compare.h"
#include "tests/ops/tolerances.h"

using namespace marrow;
using namespace marrow::test;

namespace {

const SafetensorsFile& fixture() { return golden_fixture("pca"); }

const Tensor& get(const std::string& key) { return golden_tensor("pca", key, "gen_pca.py"); }

void check_close(const Tensor& ours, const Tensor& ref, Tolerance tol, const std::string& what) {
    Comparison cmp = compare(ours, ref, tol);
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

eval::PCA fit_case(const std::string& name) {
    auto options = nlohmann::json::parse(fixture().metadata.at("case." + name));
    std::string solver = options["svd_solver"];
    eval::PCA pca(
        {.n_components = options["n_components"],
         .whiten = options["whiten"],
         .solver = solver == "full" ? eval::PCASolver::full : eval::PCASolver::randomized});
    pca.fit(get(name + "/x"));
    return pca;
}

void check_case(const std::string& name, Tolerance tol) {
    INFO("case ", name);
    eval::PCA pca = fit_case(name);
    check_close(pca.components(), get(name + "/components"), tol, "components");
    check_close(pca.mean(), get(name + "/mean"), tolerance(TolClass::reduction, DType::f64),
                "mean");
    check_close(pca.explained_variance(), get(name + "/explained_variance"), tol,
                "explained_variance");
    check_close(pca.explained_variance_ratio(), get(name + "/explained_variance_ratio"), tol,
                "explained_variance_ratio");
    check_close(pca.singular_values(), get(name + "/singular_values"), tol, "singular_values");
    check_close(from_vector<double>({pca.noise_variance()}, Shape{1}),
                get(name + "/noise_variance"), tol, "noise_variance");
    Tensor z = pca.transform(get(name + "/x"));
    check_close(z, get(name + "/transform"), tol, "transform");
    if (fixture().tensors.count(name + "/inverse"))
        check_close(pca.inverse_transform(z), get(name + "/inverse"), tol, "inverse_transform");
}

}  // namespace

TEST_CASE("PCA full solver equals sklearn's (components up to svd_flip's sign convention)") {
    for (const char* name : {"tall_whiten", "wide", "all"})
        check_case(name, tolerance(TolClass::eigen, DType::f64));
}

TEST_CASE("PCA randomized solver equals sklearn's on a decaying spectrum") {
    for (const char* name : {"randomized", "randomized_wide"})
        check_case(name, tolerance(TolClass::randomized_svd, DType::f64));
    // Deterministic per seed: the same seed gives bit-identical components.
    eval::PCA a({.n_components = 6, .solver = eval::PCASolver::randomized, .seed = 7});
    eval::PCA b({.n_components = 6, .solver = eval::PCASolver::randomized, .seed = 7});
    a.fit(get("randomized/x"));
    b.fit(get("randomized/x"));
    check_close(a.components(), b.components(), tolerance(TolClass::exact, DType::f64),
                "same seed");
}

TEST_CASE("PCA 'automatic' follows sklearn's rule and keeps the input dtype") {
    Generator gen(1);
    eval::PCA small({.n_components = 2});
    small.fit(randn({100, 10}, DType::f64, Device::cpu(), gen));
    CHECK(small.fitted_solver() == eval::PCASolver::full);  // max(N, F) <= 500
    eval::PCA large({.n_components = 3});
    Tensor x = randn({600, 20}, DType::f32, Device::cpu(), gen);
    CHECK(large.fit_transform(x).dtype() == DType::f32);
    CHECK(large.fitted_solver() == eval::PCASolver::randomized);  // 3 < 0.8 * 20
    eval::PCA most({.n_components = 18});
    most.fit(x);
    CHECK(most.fitted_solver() == eval::PCASolver::full);  // 18 >= 0.8 * 20
    // Whitened scores have unit variance (ddof = 1) in every component.
    eval::PCA white({.n_components = 4, .whiten = true, .solver = eval::PCASolver::full});
    Tensor z = white.fit_transform(to(x, DType::f64));
    check_close(marrow::var(z, {0}, true), ones({4}, DType::f64),
                tolerance(TolClass::reduction, DType::f64), "whitened variance");
}

TEST_CASE("symmetric_eigen reconstructs a hand-checked 2 x 2 matrix") {
    // [[2, 1], [1, 2]] has eigenvalues 1 and 3 with vectors (1, -1)/sqrt 2 and (1, 1)/sqrt 2.
    std::vector<double> w, v;
    eval::linalg::symmetric_eigen({2, 1, 1, 2}, 2, w, v);
    CHECK(w[0] == doctest::Approx(1.0).epsilon(1e-15));
    CHECK(w[1] == doctest::Approx(3.0).epsilon(1e-15));
    CHECK(std::abs(v[0 * 2 + 1]) == doctest::Approx(std::sqrt(0.5)).epsilon(1e-15));
    CHECK(v[0 * 2 + 1] * v[1 * 2 + 1] > 0);  // (1, 1) direction for eigenvalue 3
    CHECK(v[0 * 2 + 0] * v[1 * 2 + 0] < 0);  // (1, -1) direction for eigenvalue 1
}

TEST_CASE("PCA errors name the problem") {
    Tensor x = zeros({5, 3}, DType::f64);
    CHECK_THROWS_WITH_AS(eval::PCA({.n_components = 4}).fit(x),
                         doctest::Contains("n_components = 4 must be between 1 and"), Error);
    CHECK_THROWS_WITH_AS(eval::PCA({.n_components = 0}), doctest::Contains("n_components"), Error);
    Tensor bad = zeros({5, 3}, DType::f64);
    bad.data<double>()[2 * 3 + 1] = std::nan("");
    CHECK_THROWS_WITH_AS(eval::PCA().fit(bad), doctest::Contains("row 2, column 1"), Error);
    CHECK_THROWS_WITH_AS(eval::PCA().fit(zeros({0, 3})), doctest::Contains("empty"), Error);
    CHECK_THROWS_WITH_AS(eval::PCA().fit(zeros({1, 3})), doctest::Contains("at least 2"), Error);
    eval::PCA fitted({.n_components = 2});
    fitted.fit(randn({10, 3}, DType::f64));
    CHECK_THROWS_WITH_AS(fitted.transform(zeros({2, 4})), doctest::Contains("x has 4 features"),
                         Error);
    CHECK_THROWS_WITH_AS(eval::PCA().transform(x), doctest::Contains("not fitted"), Error);
}
