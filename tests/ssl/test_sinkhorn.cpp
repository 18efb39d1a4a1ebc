// sinkhorn_knopp: the spec's hand-checkable oracles (ssl_mil_spec.md 4.3, 12), invariants, the
// overflow case against a float64 plain-exp transcription of upstream written here, the
// production CPU path against the reference loops, and the errors. The PyTorch golden
// (swav's distributed_sinkhorn) and CPU-vs-CUDA parity run from the op-case registry
// (tests/ops/cases/sinkhorn.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/sinkhorn.h"
#include "tensor/factory.h"
#include "tests/compare.h"
#include "tests/cpu_isa.h"
#include "tests/ssl/loss_checks.h"

using namespace marrow;
using namespace marrow::test;

namespace {

// Upstream's distributed_sinkhorn (swav main_swav.py, world size 1), transcribed with plain
// exp in double on row-major scores (B, K): the independent oracle of the log-domain kernels.
std::vector<double> plain_sinkhorn(const std::vector<double>& s, int64_t nb, int64_t nk, double eps,
                                   int iters) {
    std::vector<double> q(s.size());  // Q[k][b] stored at q[b * nk + k]
    double total = 0;
    for (size_t i = 0; i < s.size(); ++i) total += (q[i] = std::exp(s[i] / eps));
    for (double& v : q) v /= total;
    for (int it = 0; it < iters; ++it) {
        for (int64_t k = 0; k < nk; ++k) {
            double row = 0;
            for (int64_t b = 0; b < nb; ++b) row += q[size_t(b * nk + k)];
            for (int64_t b = 0; b < nb; ++b)
                q[size_t(b * nk + k)] = q[size_t(b * nk + k)] / row / double(nk);
        }
        for (int64_t b = 0; b < nb; ++b) {
            double col = 0;
            for (int64_t k = 0; k < nk; ++k) col += q[size_t(b * nk + k)];
            for (int64_t k = 0; k < nk; ++k)
                q[size_t(b * nk + k)] = q[size_t(b * nk + k)] / col / double(nb);
        }
    }
    for (double& v : q) v *= double(nb);
    return q;
}

}  // namespace

TEST_CASE("sinkhorn_knopp: the spec's 3 x 2 oracles, eps 1 and 0.5, float32 and float64") {
    for (DType dtype : {DType::f32, DType::f64}) {
        CAPTURE(dtype);
        Tensor s = to(from_vector<double>({1, 0, 0.5, 0, 0, 0}, {3, 2}), dtype);
        Tensor q1 = sinkhorn_knopp(s, 1.0, 3);
        check_close(q1,
                    from_vector<double>(
                        {0.622429, 0.377571, 0.499967, 0.500033, 0.377510, 0.622490}, {3, 2}),
                    kSixDecimals);
        // per-prototype masses: approximately B'/K = 1.5 after 3 iterations
        check_close(sum(q1, {0}), from_vector<double>({1.499906, 1.500094}, {2}), kSixDecimals);
        Tensor q2 = sinkhorn_knopp(s, 0.5, 3);
        check_close(q2,
                    from_vector<double>(
                        {0.729833, 0.270167, 0.498444, 0.501556, 0.267719, 0.732281}, {3, 2}),
                    kSixDecimals);
    }
}

TEST_CASE("sinkhorn_knopp: equal scores give 1/K; rows sum to 1; masses approach B'/K") {
    Tensor q = sinkhorn_knopp(full({5, 7}, 0.3), 0.05, 3);
    check_close(q, full({5, 7}, 1.0 / 7), Tolerance{1e-7, 0, "float32 rounding of 1/7"});

    Generator gen(3);
    // cosine-like scores in [-1, 1] (SwAV's normalized prototypes), eps 0.05, B' = 96, K = 12
    Tensor s = rand({96, 12}, DType::f64, Device::cpu(), gen) * 2.0 - 1.0;
    for (DType dtype : {DType::f32, DType::f64}) {
        CAPTURE(dtype);
        Tensor q3 = sinkhorn_knopp(to(s, dtype), 0.05, 3);
        check_close(sum(q3, {1}), ones({96}, dtype),
                    Tolerance{1e-6, 0, "rows: one softmax, float32 sums of 12 terms"});
        // After 3 iterations the per-prototype masses are approximate (the last step
        // normalizes samples): within 25% of B'/K = 8 at eps 0.05 (measured 1.93), 1% at
        // eps 0.5 (measured 0.06%); with 100 they match closely (spec 12 (b)).
        CHECK(max(abs(sum(q3, {0}) - 8.0)).item() < 2.0);
        Tensor q3_smooth = sinkhorn_knopp(to(s, dtype), 0.5, 3);
        CHECK(max(abs(sum(q3_smooth, {0}) - 8.0)).item() < 0.08);  // measured 0.0047
        Tensor q100 = sinkhorn_knopp(to(s, dtype), 0.05, 100);
        CHECK(max(abs(sum(q100, {0}) - 8.0)).item() < (dtype == DType::f64 ? 1e-4 : 1e-3));
    }
}

TEST_CASE("sinkhorn_knopp: shift-invariant, identical samples get identical rows, no gradient") {
    Generator gen(4);
    Tensor s = randn({9, 6}, DType::f64, Device::cpu(), gen);
    s = cat({s, narrow(s, 0, 2, 1)});  // sample 9 repeats sample 2
    Tensor q = sinkhorn_knopp(s, 0.2, 3);
    check_close(sinkhorn_knopp(s + 5.0, 0.2, 3), q, tolerance(TolClass::reduction, DType::f64));
    check_close(narrow(q, 0, 9, 1), narrow(q, 0, 2, 1), tolerance(TolClass::exact, DType::f64));
    Tensor x = randn({4, 3}, DType::f32, Device::cpu(), gen).requires_grad_();
    CHECK_FALSE(sinkhorn_knopp(x, 0.05, 3).requires_grad());
}

TEST_CASE("sinkhorn_knopp: eps 0.01 with scores ~3 (fp32 exp overflows) stays finite") {
    // exp(300) overflows float32 (max ~3.4e38 = e^88.7); upstream's plain exp would give inf
    // and NaN. Float64's plain exp is fine at this scale: the oracle.
    Generator gen(5);
    int64_t nb = 40, nk = 9;
    Tensor s = rand({nb, nk}, DType::f64, Device::cpu(), gen) * 1.0 + 2.5;
    std::vector<double> sv(s.data<double>(), s.data<double>() + s.numel());
    Tensor ref = from_vector<double>(plain_sinkhorn(sv, nb, nk, 0.01, 3), {nb, nk});
    Tensor q32 = sinkhorn_knopp(to(s, DType::f32), 0.01, 3);
    REQUIRE(all(isfinite(q32)).item() == 1);
    // float32 rounds z = s / eps ~ 300 to ~2e-5 absolute, which moves each Q by that relative
    check_close(to(q32, DType::f64), ref, Tolerance{1e-5, 2e-4, "float32 z ~ 300: ulp 3e-5"});
    check_close(sinkhorn_knopp(s, 0.01, 3), ref, tolerance(TolClass::reduction, DType::f64));
}

TEST_CASE("sinkhorn_knopp: production CPU path against the reference loops, every ISA") {
    if (!cpu_isa_available()) return;
    Generator gen(6);
    // prototypes across the 256-prototype blocks and the vector tails; samples from 1
    for (auto shape : std::vector<std::pair<int64_t, int64_t>>{
             {1, 1}, {3, 2}, {17, 5}, {64, 16}, {33, 257}, {256, 300}, {7, 1031},
             {512, 600}})
        for (DType dtype : {DType::f32, DType::f64})
            // eps 0.05: a span of 40 (version 2 narrow); 0.01: 200 (version 2 wide); 512 x 600
            // is past version 2's size (version 1, threads)
            for (double eps : {0.05, 0.01}) {
                // (not a structured binding: clang 14 cannot capture those in CAPTURE)
                const int64_t nb = shape.first, nk = shape.second;
                CAPTURE(nb);
                CAPTURE(nk);
                CAPTURE(dtype);
                CAPTURE(eps);
                Tensor s = rand({nb, nk}, dtype, Device::cpu(), gen) * 2.0 - 1.0;
                Tensor fast = empty({nb, nk}, dtype), ref = empty({nb, nk}, dtype);
                cpu::sinkhorn(s, eps, 3, fast);
                cpu::sinkhorn_reference(s, eps, 3, ref);
                check_close(fast, ref, tolerance(TolClass::reduction, dtype));
            }
}

TEST_CASE("sinkhorn_knopp: errors name the op and the shape") {
    Tensor s = zeros({4, 3});
    CHECK(has(error_of([&] { sinkhorn_knopp(zeros({4}), 0.05, 3); }),
              "sinkhorn_knopp: expected 2-D"));
    CHECK(has(error_of([&] {
                  sinkhorn_knopp(zeros({0, 3}), 0.05, 3);
              }),
              "non-empty scores, got shape [0, 3]"));
    CHECK(has(error_of([&] { sinkhorn_knopp(s, 0, 3); }),
              "epsilon must be a positive number, got 0"));
    CHECK(has(error_of([&] { sinkhorn_knopp(s, -1, 3); }), "[4, 3]"));
    CHECK(has(error_of([&] { sinkhorn_knopp(s, 0.05, 0); }), "iterations must be >= 1, got 0"));
    CHECK(has(error_of([&] {
                  sinkhorn_knopp(zeros({4, 3}, DType::i64), 0.05, 3);
              }),
              "expected float32 or float64 scores"));
    Tensor bad = zeros({4, 3});
    bad.data<float>()[5] = std::nanf("");
    CHECK(has(error_of([&] { sinkhorn_knopp(bad, 0.05, 3); }), "non-finite value"));
    bad.data<float>()[5] = INFINITY;
    CHECK(has(error_of([&] { sinkhorn_knopp(bad, 0.05, 3); }),
              "sinkhorn_knopp: scores (shape [4, 3])"));
}
