// The collapse monitors on hand-computable inputs (expected values worked out by hand in the
// comments), the detector's warnings, check_finite's message and the kNN monitor.
#include <cmath>
#include <limits>

#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "ssl/monitors.h"
#include "tensor/factory.h"
#include "tensor/random.h"

using namespace marrow;
using namespace marrow::ssl;

namespace {
Tensor mat(std::vector<double> v, int64_t rows, int64_t cols) {
    return from_vector(v, {rows, cols});
}
}  // namespace

TEST_CASE("mean_entropy and kl_to_uniform: uniform, one-hot and a worked row") {
    // Uniform rows over K = 4: H = ln 4 per row; the mean distribution is uniform: KL = 0.
    Tensor uniform = full({3, 4}, 0.25, DType::f64);
    CHECK(mean_entropy(uniform) == doctest::Approx(std::log(4.0)).epsilon(1e-12));
    CHECK(kl_to_uniform(uniform) == doctest::Approx(0).epsilon(1e-12));
    // Every row one-hot on the same output (one-hot collapse): H = 0, KL = ln K.
    Tensor same = mat({0, 1, 0, 0, 0, 1, 0, 0}, 2, 4);
    CHECK(mean_entropy(same) == 0);
    CHECK(kl_to_uniform(same) == doctest::Approx(std::log(4.0)).epsilon(1e-12));
    // One-hot rows on different outputs (a sharp, balanced teacher): H = 0 and KL = 0.
    CHECK(mean_entropy(eye(4, DType::f64)) == 0);
    CHECK(kl_to_uniform(eye(4, DType::f64)) == doctest::Approx(0).epsilon(1e-12));
    // [0.7, 0.2, 0.1]: -(0.7 ln 0.7 + 0.2 ln 0.2 + 0.1 ln 0.1) = 0.801818552543337 (f32 input).
    CHECK(mean_entropy(from_vector(std::vector<float>{0.7f, 0.2f, 0.1f}, {1, 3})) ==
          doctest::Approx(0.801818552543337).epsilon(1e-6));
    // Rows [1, 0] and [0.5, 0.5]: mean [0.75, 0.25]; KL = ln 2 - H(0.75, 0.25) = 0.130812036.
    CHECK(kl_to_uniform(mat({1, 0, 0.5, 0.5}, 2, 2)) ==
          doctest::Approx(0.130812035941137).epsilon(1e-12));
    // Logits instead of probabilities are refused, naming the row.
    CHECK_THROWS_WITH(mean_entropy(mat({2, 0, 0, 0}, 2, 2)),
                      doctest::Contains("row 0 sums to 2 (softmax the logits first)"));
}

TEST_CASE("embedding_std: constant 0, two orthogonal rows 1/sqrt(2), gaussian ~ 1/sqrt(d)") {
    CHECK(embedding_std(ones({5, 8}, DType::f64)) == 0);
    // [3, 0] and [0, 5] normalize to [1, 0] and [0, 1]: each dim holds {1, 0}, unbiased
    // std sqrt(((0.5)^2 + (0.5)^2) / 1) = 1/sqrt(2).
    CHECK(embedding_std(mat({3, 0, 0, 5}, 2, 2)) ==
          doctest::Approx(1 / std::sqrt(2.0)).epsilon(1e-12));
    Generator gen(7);
    Tensor z = randn({4000, 64}, {.generator = &gen});
    CHECK(embedding_std(z) == doctest::Approx(1 / 8.0).epsilon(0.03));
    CHECK_THROWS_WITH(embedding_std(ones({1, 8})), doctest::Contains("at least 2 rows"));
}

TEST_CASE("effective_rank: identical rows 1, orthonormal rows d, singular values 1:2:3") {
    CHECK(effective_rank(ones({16, 32}, DType::f64)) == doctest::Approx(1).epsilon(1e-9));
    CHECK(effective_rank(eye(8, DType::f64)) == doctest::Approx(8).epsilon(1e-9));
    // 3 orthonormal rows in 10 dims (B < d: the B x B Gram) -> 3; the same as columns -> 3.
    Tensor three = narrow(eye(10, DType::f64), 0, 0, 3);
    CHECK(effective_rank(three) == doctest::Approx(3).epsilon(1e-9));
    CHECK(effective_rank(three.t().contiguous()) == doctest::Approx(3).epsilon(1e-9));
    // diag(1, 2, 3): p = (1, 2, 3) / 6, exp(-sum p ln p) = 2.749459273997205.
    CHECK(effective_rank(mat({1, 0, 0, 0, 2, 0, 0, 0, 3}, 3, 3)) ==
          doctest::Approx(2.749459273997205).epsilon(1e-9));
    // Gaussian rows with B >> d span nearly every direction.
    Generator gen(3);
    CHECK(effective_rank(randn({2000, 16}, {.generator = &gen})) > 15.5);
}

TEST_CASE("CollapseDetector: fires once after `patience` updates, names signal, value, epoch") {
    CollapseDetector det;  // patience 2; std threshold 0.2 / sqrt(64) = 0.025
    auto sig = [](int64_t epoch, double std) {
        return CollapseSignals{.epoch = epoch, .embedding_std = std, .dim = 64};
    };
    CHECK(det.update(sig(0, 0.12)).empty());
    CHECK(det.update(sig(1, 0.001)).empty());  // one update is not enough
    std::vector<CollapseWarning> w = det.update(sig(2, 0.0005));
    REQUIRE(w.size() == 1);
    CHECK(w[0].signal == "embedding_std");
    CHECK(w[0].epoch == 1);  // the epoch collapse set in
    CHECK(w[0].value == 0.0005);
    CHECK(w[0].threshold == doctest::Approx(0.025));
    CHECK(w[0].message ==
          "collapse warning: the embeddings stopped varying (std of l2-normalized embeddings far "
          "below 1/sqrt(d) = 0.125) (signal embedding_std: value 0.0005, threshold 0.025; since "
          "epoch 1)");
    CHECK(det.update(sig(3, 0.0001)).empty());  // not again while it lasts
    CHECK(det.update(sig(4, 0.12)).empty());    // recovered
    CHECK(det.update(sig(5, 0.0)).empty());
    CHECK(det.update(sig(6, 0.0)).size() == 1);  // collapsed again: a new warning
    CHECK(det.warnings().size() == 2);
}

TEST_CASE("CollapseDetector: uniform and one-hot teachers, rank, loss at ln K") {
    double ln_k = std::log(4096.0);  // 8.317766
    CollapseDetector det({.patience = 1});
    // A uniform teacher with the loss at ln K (dinov2#407's 8.317765): centering dominates.
    auto w = det.update({.epoch = 3, .loss = 8.317765, .ln_k = ln_k, .teacher_entropy = 8.3177});
    REQUIRE(w.size() == 1);
    CHECK(w[0].signal == "teacher_uniform");
    CHECK(w[0].threshold == doctest::Approx(0.99 * ln_k));
    CHECK(w[0].message.find("centering dominates") != std::string::npos);
    // A uniform teacher is flagged before the loss has reached ln K (the student follows).
    CHECK(CollapseDetector({.patience = 1})
              .update({.loss = 9.5, .ln_k = ln_k, .teacher_entropy = 8.3177})
              .size() == 1);
    CollapseDetector det2({.patience = 1});
    CHECK(det2.update({.loss = 5.0, .ln_k = ln_k, .teacher_entropy = 4.0}).empty());
    // One-hot teacher: every row on the same output (KL to uniform = ln K): sharpening dominates.
    w = det2.update({.epoch = 1, .loss = 0.01, .ln_k = ln_k, .teacher_entropy = 0.001,
                     .teacher_kl_uniform = ln_k});
    REQUIRE(w.size() == 1);
    CHECK(w[0].signal == "teacher_onehot");
    CHECK(w[0].value == doctest::Approx(1.0));  // one output in use
    CHECK(w[0].threshold == 4);
    CHECK(w[0].message.find("sharpening dominates") != std::string::npos);
    CHECK(w[0].message.find("same few of its 4096 outputs") != std::string::npos);
    // SwAV's codes: uniform names epsilon; one-hot rows are a hard balanced assignment.
    CollapseDetector swav({.patience = 1});
    w = swav.update({.ln_k = std::log(300.0), .teacher_entropy = 5.70, .sinkhorn_codes = true});
    REQUIRE(w.size() == 1);
    CHECK(w[0].message.find("Sinkhorn codes are uniform") != std::string::npos);
    CHECK(w[0].message.find("lower epsilon") != std::string::npos);
    CHECK(CollapseDetector({.patience = 1})
              .update({.ln_k = std::log(300.0), .teacher_entropy = 0.001, .sinkhorn_codes = true})
              .empty());
    // Effective rank below max(2, 0.02 d) = 10.24 for d = 512.
    w = det2.update({.epoch = 2, .dim = 512, .effective_rank = 3.0});
    REQUIRE(w.size() == 1);
    CHECK(w[0].signal == "effective_rank");
    CHECK(w[0].threshold == doctest::Approx(10.24));
    // ... capped by the rows it was computed on: 4 rows can span at most 4 directions.
    CHECK(det2.update({.epoch = 3, .dim = 512, .effective_rank = 3.0, .rows = 4}).empty());
    // Without a teacher entropy (SimCLR, SwAV): the loss alone at ln K.
    w = det2.update({.epoch = 4, .loss = 6.2383, .ln_k = std::log(512.0)});
    REQUIRE(w.size() == 1);
    CHECK(w[0].signal == "loss_at_ln_k");
    CHECK(w[0].epoch == 4);
}

TEST_CASE("check_finite names the step, the loss term, the tensor and the first bad element") {
    Tensor ok = ones({2, 3});
    CHECK_NOTHROW(check_finite(ok, 12, "koleo", "student_cls"));
    Tensor bad = from_vector(
        std::vector<float>{1, 2, 3, 4, std::numeric_limits<float>::infinity(), std::nanf("")},
        {2, 3});
    CHECK_THROWS_WITH_AS(check_finite(bad, 12, "koleo", "student_cls"),
                         "non-finite value at step 12, loss term 'koleo', tensor 'student_cls' "
                         "of shape [2, 3]: inf at index (1, 1); 2 of 6 elements non-finite",
                         NonFiniteError);
    CHECK_NOTHROW(check_finite(from_vector(std::vector<int64_t>{1, 2}, {2}), 0, "t", "labels"));
}

TEST_CASE("knn_monitor_accuracy: separated clusters, k capped, the every-5th-row split") {
    // Class 0 near 0, class 1 near 10 (1-D): every query is right for both votes.
    std::vector<double> x;
    std::vector<int64_t> y;
    for (int i = 0; i < 20; ++i) {
        x.push_back((i % 2) * 10.0 + 0.01 * i);
        x.push_back(1.0);  // a second dim, so the cosine vote sees distinct directions
        y.push_back(i % 2);
    }
    Tensor xs = from_vector(x, {20, 2}), ys = from_vector(y, {20});
    CHECK(knn_monitor_accuracy(xs, ys, {.k = 3}) == 1.0);
    CHECK(knn_monitor_accuracy(xs, ys, {.k = 3, .vote = KnnMonitorVote::dino}) == 1.0);
    // k = 20 > 16 training rows is capped: uniform vote over 8 + 8 -> ties to class 0, so the
    // 2 class-0 queries of the 4 (rows 4, 9, 14, 19: labels 0, 1, 0, 1) are right.
    CHECK(knn_monitor_accuracy(xs, ys) == 0.5);
}

TEST_CASE("CollapseDetector: sharp but diverse teacher rows are healthy; few outputs are not") {
    // Figures from Fashion-MNIST DINO runs (K 4096, 256 teacher rows, docs/experiments/ssl.md).
    const double ln_k = std::log(4096.0);
    CollapseDetector good, no_centering;  // patience 2
    // Healthy, epochs 1-2: rows sharp (0.22 nats at T 0.04) yet the batch uses 7.3, then 19
    // outputs (KL 6.33, 5.38).
    CHECK(good.update({.epoch = 1, .ln_k = ln_k, .teacher_entropy = 0.2208,
                       .teacher_kl_uniform = 6.3289}).empty());
    CHECK(good.update({.epoch = 2, .ln_k = ln_k, .teacher_entropy = 1.2454,
                       .teacher_kl_uniform = 5.3770}).empty());
    // Without centering: 2.5 outputs at epochs 1 and 2 (KL 7.4189, 7.4072), rows less sharp
    // than the healthy run's at epoch 2 (0.115 nats): the row entropy alone cannot tell them.
    CHECK(no_centering.update({.epoch = 1, .ln_k = ln_k, .teacher_entropy = 0.0674,
                               .teacher_kl_uniform = 7.4189}).empty());
    auto w = no_centering.update({.epoch = 2, .ln_k = ln_k, .teacher_entropy = 0.1149,
                                  .teacher_kl_uniform = 7.4072});
    REQUIRE(w.size() == 1);
    CHECK(w[0].signal == "teacher_onehot");
    CHECK(w[0].epoch == 1);
    CHECK(w[0].value == doctest::Approx(std::exp(ln_k - 7.4072)));
    // SwAV's codes are equipartitioned by construction: no one-hot check.
    CHECK(CollapseDetector({.patience = 1})
              .update({.ln_k = ln_k, .teacher_kl_uniform = ln_k, .sinkhorn_codes = true})
              .empty());
}
