// nt_xent and koleo_loss beyond the registry's random cases (tests/ops/cases/contrastive.cpp:
// gradcheck, PyTorch golden, composed twin, CUDA parity): the spec's hand-checkable oracles
// (ssl_mil_spec.md 3.3, 6.5, 13), the invariances (images permuted in both views, rows
// rescaled, views swapped), torch.max's tie rule for KoLeo's neighbours (also on the CUDA
// backend), argument errors, and the fused CPU kernels against the readable reference loops
// (tensor/cpu/contrastive_reference.h) at sizes past the vector widths and GEMM tiles.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "autograd/ops.h"
#include "tensor/cpu/contrastive_reference.h"
#include "tensor/ops/contrastive.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

double value(const Tensor& t) { return to(t, Device::cpu()).item(); }

void check_close(const Tensor& ours, const Tensor& ref, TolClass tol, const std::string& what) {
    Comparison cmp =
        compare(to(ours, Device::cpu()), to(ref, Device::cpu()), tolerance(tol, ours.dtype()));
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

// (2N, 2): both views of images i = 0, 1 are the unit vectors e1, e2 (spec 3.3).
Tensor two_orthogonal_images(DType dt) {
    return from_vector<double>({1, 0, 0, 1, 1, 0, 0, 1}, {4, 2}).to(dt);
}

// n points equally spaced on the unit circle, (n, 2).
Tensor circle(int64_t n) {
    std::vector<double> v;
    for (int64_t i = 0; i < n; ++i) {
        double t = 2 * std::numbers::pi * double(i) / double(n);
        v.push_back(std::cos(t));
        v.push_back(std::sin(t));
    }
    return from_vector(v, {n, 2});
}

}  // namespace

TEST_CASE("nt_xent: the spec's two-image oracle, N = 1 gives 0") {
    for (DType dt : {DType::f64, DType::f32}) {
        CAPTURE(dt);
        Tensor z = two_orthogonal_images(dt);
        // l_i = -1/tau + log(e^{1/tau} + 2): log(1 + 2/e) at tau 1; tau 0.5 likewise
        CHECK(value(nt_xent(z, 1.0)) == doctest::Approx(0.551445).epsilon(1e-6));
        CHECK(value(nt_xent(z, 0.5)) == doctest::Approx(0.239545).epsilon(1e-5));
        // scaling rows changes nothing: they are normalized inside
        CHECK(value(nt_xent(z * 3.0, 1.0)) == doctest::Approx(0.551445).epsilon(1e-6));
    }
    // N = 1: the positive is the only other row, so l = -S01 + log e^{S01} = 0 for any z
    Generator gen(3);
    Tensor z = randn({2, 7}, DType::f64, Device::cpu(), gen).requires_grad_();
    Tensor l = nt_xent(z, 0.2);
    CHECK(std::abs(value(l)) < 1e-12);
    l.backward();
    CHECK(value(max(abs(z.grad()))) < 1e-12);
}

TEST_CASE("nt_xent: invariant to permuting images in both views, rescaling rows, swapping views") {
    Generator gen(11);
    const int64_t n = 9, d = 6;
    Tensor z = randn({2 * n, d}, DType::f64, Device::cpu(), gen);
    double base = value(nt_xent(z, 0.3));
    // the same permutation of images in view a and view b
    Tensor perm = randperm(n, gen);
    Tensor rows = cat({perm, perm + n}, 0);
    CHECK(value(nt_xent(index_select(z, 0, rows), 0.3)) == doctest::Approx(base).epsilon(1e-12));
    // a positive factor per row
    Tensor scale = rand({2 * n, 1}, DType::f64, Device::cpu(), gen) * 5.0 + 0.1;
    CHECK(value(nt_xent(z * scale, 0.3)) == doctest::Approx(base).epsilon(1e-12));
    // views swapped: rows N..2N-1 first
    Tensor swapped = cat({slice(z, 0, n, 2 * n), slice(z, 0, 0, n)}, 0);
    CHECK(value(nt_xent(swapped, 0.3)) == doctest::Approx(base).epsilon(1e-12));
    // but not to breaking the pairing (a permutation of view b alone)
    Tensor broken =
        cat({slice(z, 0, 0, n), index_select(slice(z, 0, n, 2 * n), 0, flip(arange(n), {0}))}, 0);
    CHECK(std::abs(value(nt_xent(broken, 0.3)) - base) > 1e-3);
}

TEST_CASE("koleo_loss: the spec's oracles and invariances") {
    for (DType dt : {DType::f64, DType::f32}) {
        CAPTURE(dt);
        // 4 orthogonal unit vectors: every neighbour at sqrt(2), L = -log(sqrt 2)
        Tensor x = eye(4, dt);
        CHECK(value(koleo_loss(x)) == doctest::Approx(-0.346574).epsilon(1e-6));
        // n points equally spaced on a circle: every neighbour at 2 sin(pi / n)
        for (int64_t n : {3, 5, 8, 12}) {
            CAPTURE(n);
            double expected = -std::log(2 * std::sin(std::numbers::pi / double(n)));
            CHECK(std::abs(value(koleo_loss(circle(n).to(dt))) - expected) < 1e-5);
        }
    }
    Generator gen(5);
    Tensor x = randn({10, 6}, DType::f64, Device::cpu(), gen);
    double base = value(koleo_loss(x));
    CHECK(value(koleo_loss(index_select(x, 0, randperm(10, gen)))) ==
          doctest::Approx(base).epsilon(1e-12));
    Tensor scale = rand({10, 1}, DType::f64, Device::cpu(), gen) * 5.0 + 0.1;
    CHECK(value(koleo_loss(x * scale)) == doctest::Approx(base).epsilon(1e-12));
}

// torch.max's rule (the first maximum) on exact ties of the Gram matrix: the square (e1, e2,
// -e1, -e2) has two neighbours at distance sqrt 2 per point, and B = 2 antipodal points tie
// with the diagonal's -1, so row 0 picks itself (d = ||(1e-8, 1e-8)||) as dinov2 does.
void check_ties(Device dev) {
    Tensor square = from_vector<double>({1, 0, 0, 1, -1, 0, 0, -1}, {4, 2});
    op::KoleoForward f = op::koleo_loss(to(square, dev), 1e-8);
    CHECK(equal(to(f.nn, Device::cpu()), from_vector<int64_t>({1, 0, 1, 0})));
    Tensor pair = from_vector<double>({1, 0, -1, 0}, {2, 2});
    f = op::koleo_loss(to(pair, dev), 1e-8);
    CHECK(equal(to(f.nn, Device::cpu()), from_vector<int64_t>({0, 0})));
    double d0 = std::sqrt(2.0) * 1e-8, d1 = std::hypot(-2 + 1e-8, 1e-8);
    double expected = -(std::log(d0 + 1e-8) + std::log(d1 + 1e-8)) / 2;
    CHECK(value(f.loss) == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE("koleo_loss: ties choose the first maximum, as torch.max on the CPU") {
    check_ties(Device::cpu());
}

#if defined(MARROW_CUDA_SIM) || defined(MARROW_CUDA_NVCC)
TEST_CASE("koleo_loss on CUDA: the same tie rule" * doctest::test_suite("cuda")) {
    check_ties(Device::cuda());
}
#endif

TEST_CASE("nt_xent and koleo_loss: argument errors name the op and the shape") {
    Tensor z = zeros({3, 4});
    CHECK_THROWS_WITH(nt_xent(z, 0.5),
                      doctest::Contains("nt_xent: expected an even number of rows"));
    CHECK_THROWS_WITH(nt_xent(z, 0.5), doctest::Contains("(3, 4)"));
    CHECK_THROWS_WITH(nt_xent(zeros({4}), 0.5),
                      doctest::Contains("nt_xent: expected a 2-D input z (2N, d), got shape"));
    CHECK_THROWS_WITH(
        nt_xent(zeros({0, 4}), 0.5),
        doctest::Contains("nt_xent: expected a non-empty z (2N, d), got shape (0, 4)"));
    CHECK_THROWS_WITH(nt_xent(zeros({4, 0}), 0.5), doctest::Contains("(4, 0)"));
    for (double t : {0.0, -1.0, double(INFINITY), double(NAN)})
        CHECK_THROWS_WITH(nt_xent(zeros({4, 2}), t),
                          doctest::Contains("nt_xent: temperature must be positive and finite"));
    CHECK_THROWS_WITH(nt_xent(zeros({4, 2}, DType::i64), 0.5),
                      doctest::Contains("nt_xent: expected a float32 or float64 input"));
    CHECK_THROWS_WITH(koleo_loss(zeros({1, 5})),
                      doctest::Contains("koleo_loss: needs at least 2 rows, got (1, 5)"));
    CHECK_THROWS_WITH(koleo_loss(zeros({0, 5})),
                      doctest::Contains("koleo_loss: needs at least 2 rows, got (0, 5)"));
    CHECK_THROWS_WITH(koleo_loss(zeros({2, 3, 4})),
                      doctest::Contains("koleo_loss: expected a 2-D input x (B, D)"));
    CHECK_THROWS_WITH(koleo_loss(zeros({3, 0})), doctest::Contains("koleo_loss"));
}

// The fused kernels (through the entry points) against the reference loops: loss, lse, nn,
// and the gradient, float32 and float64. The upstream g = 0.7 rows makes the gradients O(1)
// (the loss is a mean over the rows), so the tolerances' atol does not hide errors.
template <typename T>
void check_against_reference(int64_t rows, int64_t d, double tau, uint64_t seed) {
    CAPTURE(rows);
    CAPTURE(d);
    DType dt = dtype_v<T>;
    Generator gen(seed);
    Tensor z = randn({rows, d}, dt, Device::cpu(), gen);
    const double gv = 0.7 * double(rows);
    Tensor g = scalar_tensor(gv, dt);
    const T* pz = z.data<T>();

    op::NtXentForward f = op::nt_xent(z, tau);
    Tensor gz = op::nt_xent_backward(z, f.lse, g, tau);
    Tensor lse = empty({rows}, dt), gz_ref = empty({rows, d}, dt);
    T loss = cpu::reference::nt_xent_forward(pz, rows, d, tau, lse.data<T>());
    cpu::reference::nt_xent_backward(pz, rows, d, tau, lse.data<T>(), T(gv), gz_ref.data<T>());
    check_close(f.loss, scalar_tensor(double(loss), dt), TolClass::reduction, "nt_xent loss");
    check_close(f.lse, lse, TolClass::reduction, "nt_xent lse");
    check_close(gz, gz_ref, TolClass::reduction, "nt_xent gradient");

    op::KoleoForward k = op::koleo_loss(z, 1e-8);
    Tensor gx = op::koleo_loss_backward(z, k.nn, g, 1e-8);
    Tensor nn = empty({rows}, DType::i64), gx_ref = empty({rows, d}, dt);
    T kl = cpu::reference::koleo_forward(pz, rows, d, 1e-8, nn.data<int64_t>());
    cpu::reference::koleo_backward(pz, rows, d, 1e-8, nn.data<int64_t>(), T(gv), gx_ref.data<T>());
    CHECK(equal(k.nn, nn));
    check_close(k.loss, scalar_tensor(double(kl), dt), TolClass::reduction, "koleo loss");
    check_close(gx, gx_ref, TolClass::reduction, "koleo gradient");
}

TEST_CASE("nt_xent and koleo_loss: the fused CPU kernels match the reference loops") {
    struct Size {
        int64_t rows, d;
        double tau;
    };
    for (Size s : {Size{2, 3, 1.0}, Size{6, 5, 0.5}, Size{34, 17, 0.1}, Size{130, 70, 0.2},
                   Size{512, 128, 0.1}}) {
        check_against_reference<double>(s.rows, s.d, s.tau, 1);
        check_against_reference<float>(s.rows, s.d, s.tau, 2);
    }
}

TEST_CASE("nt_xent: a small temperature does not overflow (scores up to 1 / tau = 1000)") {
    Generator gen(8);
    Tensor z = randn({16, 4}, DType::f32, Device::cpu(), gen).requires_grad_();
    Tensor l = nt_xent(z, 1e-3);
    l.backward();
    CHECK(std::isfinite(value(l)));
    CHECK(value(all(isfinite(z.grad()))) == 1.0);
    Tensor ref = nt_xent(to(detach(z), DType::f64), 1e-3);
    CHECK(value(l) == doctest::Approx(value(ref)).epsilon(1e-4));
}
