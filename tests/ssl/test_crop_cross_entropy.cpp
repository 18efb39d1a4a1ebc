// cross_entropy_crops and soft_cross_entropy: the spec's DINO oracle (ssl_mil_spec.md 5.2),
// the uniform-student invariant, the gradient formula written out, iBOT's oracles (spec 13),
// stability at large logits, the vectorized CPU path against the reference loops, and the
// errors. Goldens (DINOLoss, iBOT forward_masked), gradcheck, composed twins and CUDA parity
// run from the op-case registry (tests/ops/cases/crop_cross_entropy.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

#include "autograd/ops.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/crop_cross_entropy.h"
#include "tensor/factory.h"
#include "tests/compare.h"
#include "tests/cpu_isa.h"
#include "tests/ssl/loss_checks.h"

using namespace marrow;
using namespace marrow::test;

namespace {

// Teacher probabilities (T, B, K): a softmax of random logits.
Tensor teacher_probs(int64_t t, int64_t b, int64_t k, DType dtype, Generator& gen) {
    return softmax(randn({t, b, k}, dtype, Device::cpu(), gen) * 3.0, -1);
}

}  // namespace

TEST_CASE("cross_entropy_crops: the spec's DINO oracle (K = 3, B = 1, T_t = 0.5, T_s = 1)") {
    for (DType dtype : {DType::f32, DType::f64}) {
        CAPTURE(dtype);
        Tensor t = to(from_vector<double>({2, 0, -1, 0, 1, 0}, {2, 1, 3}), dtype);
        Tensor center = zeros({1, 3}, dtype);
        Tensor q = softmax((t - center) / 0.5, -1);  // our softmax of the centered teacher
        check_close(q,
                    from_vector<double>(
                        {0.979629, 0.017943, 0.002428, 0.106507, 0.786986, 0.106507}, {2, 1, 3}),
                    kSixDecimals);
        Tensor s = to(from_vector<double>({1, 0, 0, 0, 0, 1}, {2, 1, 3}), dtype);
        check_close(cross_entropy_crops(q, s, 1.0), scalar_tensor(1.496977, DType::f64),
                    kSixDecimals);
        // with a local crop s_2 = [0.5, 0.5, 0]: n_terms = 4
        Tensor s3 = cat({s, to(from_vector<double>({0.5, 0.5, 0}, {1, 1, 3}), dtype)});
        check_close(cross_entropy_crops(q, s3, 1.0), scalar_tensor(1.241115, DType::f64),
                    kSixDecimals);
    }
}

TEST_CASE("cross_entropy_crops: a uniform student gives ln K for any teacher") {
    Generator gen(11);
    for (int64_t k : {3, 7, 4096}) {
        CAPTURE(k);
        Tensor q = teacher_probs(2, 5, k, DType::f64, gen);
        check_close(cross_entropy_crops(q, zeros({6, 5, k}, DType::f64), 0.1),
                    scalar_tensor(std::log(double(k)), DType::f64),
                    tolerance(TolClass::reduction, DType::f64));
        check_close(cross_entropy_crops(to(q, DType::f32), zeros({6, 5, k}), 0.1),
                    scalar_tensor(std::log(double(k))), tolerance(TolClass::reduction, DType::f32));
    }
}

TEST_CASE(
    "cross_entropy_crops: dL/ds_v = (c_v softmax(s_v / tau) - sum_{j != v} q_j) / (tau n B)") {
    Generator gen(12);
    int64_t t = 2, v = 5, b = 3, k = 6;
    double tau = 0.1;
    Tensor q = teacher_probs(t, b, k, DType::f64, gen);
    Tensor s = randn({v, b, k}, DType::f64, Device::cpu(), gen).requires_grad_();
    cross_entropy_crops(q, s, tau).backward();
    Tensor sm = softmax(s.detach() / tau, -1);
    double n_terms = double(t * v - t);
    for (int64_t vi = 0; vi < v; ++vi) {
        CAPTURE(vi);
        Tensor others = zeros({b, k}, DType::f64);
        double c = 0;
        for (int64_t j = 0; j < t; ++j)
            if (j != vi) others = others + squeeze(narrow(q, 0, j, 1), 0), c += 1;
        Tensor expected =
            (squeeze(narrow(sm, 0, vi, 1), 0) * c - others) / (tau * n_terms * double(b));
        check_close(squeeze(narrow(s.grad(), 0, vi, 1), 0), expected,
                    tolerance(TolClass::reduction, DType::f64));
    }
}

TEST_CASE("cross_entropy_crops: no overflow at large logits (|s| / tau ~ 1e4)") {
    Generator gen(13);
    Tensor q = teacher_probs(2, 4, 50, DType::f64, gen);
    Tensor s = randn({4, 4, 50}, DType::f64, Device::cpu(), gen) * 1000.0;
    Tensor ref = cross_entropy_crops(q, s, 0.1);
    Tensor s32 = to(s, DType::f32).requires_grad_();
    Tensor l32 = cross_entropy_crops(to(q, DType::f32), s32, 0.1);
    l32.backward();
    REQUIRE(std::isfinite(l32.item()));
    REQUIRE(all(isfinite(s32.grad())).item() == 1);
    check_close(to(l32, DType::f64), ref, Tolerance{1e-2, 1e-5, "float32 z ~ 1e4: ulp 1e-3"});
}

TEST_CASE("soft_cross_entropy: iBOT's oracles (spec 13) and the weighted sum") {
    Generator gen(14);
    // one image with 1 masked patch out of 2B images: CE / (2B)
    int64_t two_b = 6, k = 9;
    Tensor q = softmax(randn({1, k}, DType::f64, Device::cpu(), gen), -1);
    Tensor s = randn({1, k}, DType::f64, Device::cpu(), gen);
    double ce = -sum(q * log_softmax(s / 0.1, -1)).item();
    check_close(soft_cross_entropy(q, s, full({1}, 1.0 / double(two_b), DType::f64), 0.1),
                scalar_tensor(ce / double(two_b), DType::f64),
                tolerance(TolClass::reduction, DType::f64));
    // no masked patch anywhere: 0, and an empty gradient
    Tensor none = zeros({0, k}).requires_grad_();
    Tensor l = soft_cross_entropy(zeros({0, k}), none, zeros({0}), 0.1);
    CHECK(l.item() == 0);
    l.backward();
    CHECK(none.grad().shape() == Shape({0, k}));
}

TEST_CASE("soft cross-entropy kernels: vectorized float32 path against the reference, every ISA") {
    if (!cpu_isa_available()) return;
    Generator gen(15);
    // K around the vector widths and the 512-value chunks; T = 1, 2, 3; the rows form
    for (int64_t k : {1, 5, 16, 17, 511, 513, 1031, 4096})
        for (int64_t t : {1, 2, 3}) {
            CAPTURE(k);
            CAPTURE(t);
            int64_t v = 4, b = 3;
            SoftCrossEntropyParams p{t, v, b, k, 1 / 0.1, 1.0 / double((t * v - t) * b), true};
            Tensor targets = teacher_probs(t, b, k, DType::f32, gen);
            Tensor logits = randn({v, b, k}, DType::f32, Device::cpu(), gen);
            Tensor loss = empty({v * b}), lse = empty({v * b}), loss_ref = empty({v * b}),
                   lse_ref = empty({v * b});
            cpu::soft_cross_entropy(p, targets, logits, nullptr, loss, lse);
            cpu::soft_cross_entropy_reference(p, targets, logits, nullptr, loss_ref, lse_ref);
            check_close(loss, loss_ref, tolerance(TolClass::reduction, DType::f32));
            check_close(lse, lse_ref, tolerance(TolClass::reduction, DType::f32));
            Tensor g = scalar_tensor(0.7), d = empty({v, b, k}), d_ref = empty({v, b, k});
            cpu::soft_cross_entropy_backward(p, targets, logits, nullptr, lse, g, d);
            cpu::soft_cross_entropy_backward_reference(p, targets, logits, nullptr, lse, g, d_ref);
            check_close(d, d_ref, tolerance(TolClass::reduction, DType::f32));
            // the rows form, with weights
            SoftCrossEntropyParams pr{1, 1, v * b, k, 1 / 0.1, 1.0, false};
            Tensor rt = reshape(teacher_probs(v, b, k, DType::f32, gen), {v * b, k});
            Tensor w = rand({v * b}, DType::f32, Device::cpu(), gen);
            Tensor rl = reshape(logits, {v * b, k});
            cpu::soft_cross_entropy(pr, rt, rl, &w, loss, lse);
            cpu::soft_cross_entropy_reference(pr, rt, rl, &w, loss_ref, lse_ref);
            check_close(loss, loss_ref, tolerance(TolClass::reduction, DType::f32));
        }
}

TEST_CASE("cross_entropy_crops / soft_cross_entropy: errors name the op and both shapes") {
    Tensor q = full({2, 3, 4}, 0.25), s = zeros({5, 3, 4});
    CHECK(has(error_of([&] {
                  cross_entropy_crops(zeros({2, 3, 4}).requires_grad_(), s, 0.1);
              }),
              "cross_entropy_crops: the targets (shape [2, 3, 4]) require grad"));
    CHECK(has(error_of([&] {
                  cross_entropy_crops(zeros({2, 3, 4}).requires_grad_(), s, 0.1);
              }),
              "detach them"));
    CHECK(has(error_of([&] {
                  cross_entropy_crops(zeros({1, 3, 4}), zeros({1, 3, 4}), 0.1);
              }),
              "no loss terms (T = V = 1"));
    CHECK(has(error_of([&] {
                  cross_entropy_crops(q, zeros({5, 2, 4}), 0.1);
              }),
              "targets of shape [2, 3, 4] and student logits of shape [5, 2, 4]"));
    CHECK(has(error_of([&] {
                  cross_entropy_crops(q, zeros({5, 3, 5}), 0.1);
              }),
              "must agree in B and K"));
    CHECK(has(error_of([&] {
                  cross_entropy_crops(full({6, 3, 4}, 0.25), s, 0.1);
              }),
              "expected 1 <= T <= V"));
    CHECK(has(error_of([&] {
                  cross_entropy_crops(zeros({2, 12}), s, 0.1);
              }),
              "expected targets (T, B, K) and student logits (V, B, K)"));
    CHECK(has(error_of([&] { cross_entropy_crops(q, s, 0); }),
              "the temperature must be a positive number, got 0"));
    CHECK(has(error_of([&] { cross_entropy_crops(to(q, DType::f64), s, 0.1); }),
              "cross_entropy_crops"));
    Tensor t2 = full({4, 3}, 0.25), s2 = zeros({4, 3});
    CHECK(has(error_of([&] { soft_cross_entropy(t2, s2, zeros({4}).requires_grad_(), 0.1); }),
              "soft_cross_entropy: the row weights (shape [4]) require grad"));
    CHECK(has(error_of([&] {
                  soft_cross_entropy(t2, zeros({4, 2}), zeros({4}), 0.1);
              }),
              "got targets of shape [4, 3] and logits of shape [4, 2]"));
    CHECK(has(error_of([&] { soft_cross_entropy(t2, s2, zeros({3}), 0.1); }),
              "row weights of shape (R,) for logits of shape [4, 3], got shape [3]"));
}
