// layer_norm beyond the op-case registry: the vectorized CPU path (float32 and float64) against
// the reference loops at widths around the vector and Welford-step edges, with every
// combination of wanted gradients; float32 statistics far from zero mean; the same bits for
// any thread count; PyTorch's argument errors; empty inputs; gradients and saved tensors only
// where needed. ctest runs the vectorized test once per ISA. The CUDA kernels' column sums
// (test suite "cuda") are checked for run-to-run bit equality on the simulator.
#include <doctest/doctest.h>
#include <omp.h>

#include <functional>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/layer_norm.h"
#include "tensor/ops/layer_norm.h"
#include "tests/compare.h"
#include "tests/cpu_isa.h"

using namespace marrow;
using namespace marrow::test;

namespace {

void check_close(const Tensor& ours, const Tensor& ref, Tolerance tol, const std::string& what) {
    Comparison cmp = compare(to(ours, Device::cpu()), to(ref, Device::cpu()), tol);
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

void check_equal(const Tensor& a, const Tensor& b, const std::string& what) {
    INFO(what);
    CHECK(a.shape() == b.shape());
    CHECK(allclose(a, b, 0, 0));  // bit-for-bit up to the sign of zero
}

const Tensor* opt(bool wanted, const Tensor& t) { return wanted ? &t : nullptr; }

// The registered kernels (vectorized) and the reference loops on the same (M, N) values, the
// forward with and without each affine parameter, then both backward kernels with every
// combination of wanted gradients (x and the statistics passed only when read).
void fast_against_reference(int64_t m, int64_t n, DType dtype, bool has_w, bool has_b,
                            Generator& gen) {
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(dtype);
    CAPTURE(has_w);
    CAPTURE(has_b);
    auto randn_ = [&](Shape s) { return randn(std::move(s), dtype, Device::cpu(), gen); };
    Tensor x = randn_({m, n}) * 2.0 + 0.7, g = randn_({m, n});
    Tensor w = randn_({n}), b = randn_({n});
    const Tensor *wp = opt(has_w, w), *bp = opt(has_b, b);
    Tensor y = empty({m, n}, dtype), mean = empty({m}, dtype), rstd = empty({m}, dtype);
    Tensor y_ref = empty({m, n}, dtype), mean_ref = empty({m}, dtype), rstd_ref = empty({m}, dtype);
    cpu::layer_norm(1e-5, x, wp, bp, y, mean, rstd);
    cpu::layer_norm_reference(1e-5, x, wp, bp, y_ref, mean_ref, rstd_ref);
    Tolerance tol = tolerance(TolClass::reduction, dtype);
    check_close(y, y_ref, tol, "y");
    check_close(mean, mean_ref, tol, "mean");
    check_close(rstd, rstd_ref, tol, "rstd");
    for (int wanted = 1; wanted < 8; ++wanted) {
        CAPTURE(wanted);
        bool want_dx = wanted & 1, want_dw = wanted & 2, want_db = wanted & 4;
        bool stats = want_dx || want_dw;  // dbias alone reads only g
        Tensor dx = full({m, n}, -7.0, dtype), dw = full({n}, -7.0, dtype),
               db = full({n}, -7.0, dtype);
        Tensor dx_ref = clone(dx), dw_ref = clone(dw), db_ref = clone(db);
        cpu::layer_norm_backward(opt(stats, x), g, opt(stats, mean), opt(stats, rstd), wp,
                                 opt(want_dx, dx), opt(want_dw, dw), opt(want_db, db));
        cpu::layer_norm_backward_reference(opt(stats, x), g, opt(stats, mean), opt(stats, rstd), wp,
                                           opt(want_dx, dx_ref), opt(want_dw, dw_ref),
                                           opt(want_db, db_ref));
        check_close(dx, dx_ref, tol, "dx");  // untouched (-7) when not wanted, in both
        check_close(dw, dw_ref, tol, "dweight");
        check_close(db, db_ref, tol, "dbias");
    }
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

bool has(const std::string& text, const std::string& part) {
    INFO(text);
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("layer_norm: vectorized path against the reference loops, every ISA") {
    if (!test::cpu_isa_available()) return;
    Generator gen(31);
    // Widths around the vectors (2-16 lanes), the 4-vector Welford steps (a tail, or none),
    // the ViT widths; rows across the 32-row blocks of the column sums.
    for (int64_t n : {1, 2, 5, 15, 16, 17, 63, 64, 65, 127, 384, 391, 1031})
        for (int64_t m : {1, 3, 70})
            for (DType dtype : {DType::f32, DType::f64})
                fast_against_reference(m, n, dtype, true, true, gen);
    for (bool has_w : {false, true})
        for (bool has_b : {false, true})
            fast_against_reference(33, 77, DType::f32, has_w, has_b, gen);
    fast_against_reference(2 * 197, 768, DType::f32, true, true, gen);
}

TEST_CASE("layer_norm: float32 statistics stay accurate far from zero mean") {
    // Rows 1e4 + N(0, 1): a one-pass sum of squares in float32 would lose the variance (1e8
    // with 24-bit mantissas); Welford per lane and Chan's merges keep it. x itself carries
    // float32 rounding of ~5e-4 at 1e4, which bounds y's error (|y| ~ 1).
    Generator gen(5);
    for (int64_t n : {384, 1031, 40}) {
        CAPTURE(n);
        Tensor x = randn({64, n}, DType::f32, Device::cpu(), gen) + 1e4;
        Tensor y = layer_norm(x, {n});
        Tensor y64 = layer_norm(to(x, DType::f64), {n});
        check_close(y, y64, Tolerance{2e-3, 0, "float32 inputs rounded at 1e4"}, "y");
    }
}

TEST_CASE("layer_norm: the same bits for any thread count") {
    Generator gen(8);
    Tensor x = randn({2 * 257, 384}, DType::f32, Device::cpu(), gen);
    Tensor w = randn({384}, DType::f32, Device::cpu(), gen);
    Tensor b = randn({384}, DType::f32, Device::cpu(), gen);
    Tensor g = randn({2 * 257, 384}, DType::f32, Device::cpu(), gen);
    auto run = [&](int threads) {
        int saved = omp_get_max_threads();
        omp_set_num_threads(threads);
        op::LayerNormForward f = op::layer_norm(x, {384}, w, b, 1e-6);
        op::LayerNormGrads d =
            op::layer_norm_backward(g, x, {384}, f.mean, f.rstd, w, {true, true, true});
        omp_set_num_threads(saved);
        return std::vector<Tensor>{f.y, f.mean, f.rstd, *d.x, *d.weight, *d.bias};
    };
    std::vector<Tensor> one = run(1);
    for (int threads : {2, 3}) {
        CAPTURE(threads);
        std::vector<Tensor> many = run(threads);
        const char* names[] = {"y", "mean", "rstd", "dx", "dweight", "dbias"};
        for (size_t i = 0; i < one.size(); ++i) check_equal(many[i], one[i], names[i]);
    }
}

TEST_CASE("layer_norm: argument errors as PyTorch, naming the op and the shapes") {
    Tensor x = randn({3, 4});
    auto ln = [](const Tensor& in, std::vector<int64_t> shape, std::optional<Tensor> w,
                 std::optional<Tensor> b) { return [=] { layer_norm(in, shape, w, b); }; };
    std::string e = error_of(ln(x, {5}, std::nullopt, std::nullopt));
    CHECK(has(e,
              "layer_norm: given normalized_shape=[5], expected input with shape [*, 5], but "
              "got input of shape [3, 4]"));
    CHECK(has(error_of(ln(x, {3, 4, 1}, std::nullopt, std::nullopt)), "[*, 3, 4, 1]"));
    CHECK(has(error_of(ln(x, {}, std::nullopt, std::nullopt)),
              "expected normalized_shape to be at least 1-dimensional"));
    e = error_of(ln(x, {4}, ones({5}), std::nullopt));
    CHECK(has(e,
              "expected weight to be of same shape as normalized_shape, but got weight of "
              "shape [5] and normalized_shape = [4]"));
    CHECK(has(e, "input shape [3, 4]"));
    CHECK(has(error_of(ln(x, {4}, std::nullopt, ones({1, 4}))), "got bias of shape [1, 4]"));
    CHECK(
        has(error_of(ln(x, {4}, ones({4}, DType::f64), std::nullopt)), "weight has dtype float64"));
    CHECK(has(error_of(ln(to(x, DType::i64), {4}, std::nullopt, std::nullopt)),
              "layer_norm: expected a float32 or float64 input, got int64"));
    CHECK(has(error_of(ln(to(x, DType::bf16), {4}, std::nullopt, std::nullopt)), "layer_norm"));
    // the whole shape may be normalized, and any leading shape is rows
    CHECK(error_of(ln(x, {3, 4}, ones({3, 4}), zeros({3, 4}))) == "(no error)");
    CHECK(error_of(ln(randn({2, 3, 5, 4}), {4}, std::nullopt, std::nullopt)) == "(no error)");
}

TEST_CASE("layer_norm: empty inputs give empty outputs and zero parameter gradients") {
    for (Shape shape : {Shape{0, 4}, Shape{2, 0, 4}}) {
        CAPTURE(shape);
        Tensor x = zeros(shape).requires_grad_();
        Tensor w = ones({4}).requires_grad_(), b = zeros({4}).requires_grad_();
        Tensor y = layer_norm(x, {4}, w, b);
        CHECK(y.shape() == shape);
        sum(y).backward();
        CHECK(x.grad().shape() == shape);
        CHECK(allclose(w.grad(), zeros({4})));
        CHECK(allclose(b.grad(), zeros({4})));
    }
    // an empty normalized shape: PyTorch's statistics are mean 0 and rstd NaN
    op::LayerNormForward f = op::layer_norm(zeros({3, 0}), {0}, std::nullopt, std::nullopt, 1e-5);
    CHECK(f.y.shape() == Shape{3, 0});
    CHECK(allclose(f.mean, zeros({3})));
    CHECK(std::isnan(f.rstd.data<float>()[0]));
}

TEST_CASE("layer_norm: one value per row gives the bias, and no gradient through x") {
    // xhat = 0 whatever x is (x - mean = 0), as PyTorch: y = b, dx = 0, dweight = 0.
    Tensor x = randn({5, 1}).requires_grad_();
    Tensor w = full({1}, 2.0).requires_grad_(), b = full({1}, 3.0).requires_grad_();
    Tensor y = layer_norm(x, {1}, w, b);
    check_close(y, full({5, 1}, 3.0), tolerance(TolClass::exact, DType::f32), "y");
    sum(y).backward();
    check_close(x.grad(), zeros({5, 1}), tolerance(TolClass::exact, DType::f32), "dx");
    check_close(w.grad(), zeros({1}), tolerance(TolClass::exact, DType::f32), "dweight");
    check_close(b.grad(), full({1}, 5.0), tolerance(TolClass::exact, DType::f32), "dbias");
}

TEST_CASE("layer_norm: gradients and saved tensors only where needed") {
    Generator gen(4);
    Tensor x = randn({6, 8}, DType::f32, Device::cpu(), gen);
    Tensor w = randn({8}, DType::f32, Device::cpu(), gen);
    Tensor b = randn({8}, DType::f32, Device::cpu(), gen);
    int64_t before = autograd::saved_tensor_bytes();
    int64_t x_bytes = 6 * 8 * 4, stat_bytes = 6 * 4, w_bytes = 8 * 4;
    {
        // a frozen input, frozen weight: dbias alone reads g, so nothing is saved
        Tensor bt = b.detach().requires_grad_();
        Tensor y = layer_norm(x, {8}, w, bt);
        CHECK(autograd::saved_tensor_bytes() - before == 0);
        y.backward(ones_like(y));
        check_close(bt.grad(), full({8}, 6.0), tolerance(TolClass::reduction, DType::f32), "db");
    }
    {
        // frozen affine parameters (a probe on a frozen encoder's norm): x, the statistics
        // and the weight for dx; no parameter gradients
        Tensor xt = x.detach().requires_grad_();
        Tensor y = layer_norm(xt, {8}, w, b);
        CHECK(autograd::saved_tensor_bytes() - before == x_bytes + 2 * stat_bytes + w_bytes);
        y.backward(ones_like(y));
        CHECK(xt.has_grad());
        CHECK(!w.has_grad());
        CHECK(!b.has_grad());
    }
    {
        // a frozen input, a trained weight: x and the statistics for dweight, not the weight
        Tensor wt = w.detach().requires_grad_();
        Tensor y = layer_norm(x, {8}, wt, b);
        CHECK(autograd::saved_tensor_bytes() - before == x_bytes + 2 * stat_bytes);
        y.backward(ones_like(y));
        CHECK(wt.has_grad());
    }
    CHECK(autograd::saved_tensor_bytes() == before);
}

TEST_CASE("layer_norm: the CUDA column sums are the same bits on every run" *
          doctest::test_suite("cuda")) {
    // 100 rows: chunks of 32, 32, 32 and 4 rows; 300 columns: two 256-column blocks.
    Generator gen(12);
    Tensor x = randn({100, 300}, DType::f32, Device::cpu(), gen);
    Tensor w = randn({300}, DType::f32, Device::cpu(), gen);
    Tensor g = randn({100, 300}, DType::f32, Device::cpu(), gen);
    op::LayerNormForward f = op::layer_norm(x, {300}, w, std::nullopt, 1e-5);
    op::LayerNormGrads ref =
        op::layer_norm_backward(g, x, {300}, f.mean, f.rstd, w, {true, true, true});
    Device cuda = Device::cuda();
    Tensor xc = to(x, cuda), wc = to(w, cuda), gc = to(g, cuda);
    op::LayerNormForward fc = op::layer_norm(xc, {300}, wc, std::nullopt, 1e-5);
    check_close(fc.y, f.y, tolerance(TolClass::reduction, DType::f32), "y");
    auto backward = [&] {
        return op::layer_norm_backward(gc, xc, {300}, fc.mean, fc.rstd, wc, {true, true, true});
    };
    op::LayerNormGrads a = backward(), b = backward();
    check_close(*a.x, *ref.x, tolerance(TolClass::reduction, DType::f32), "dx");
    check_close(*a.weight, *ref.weight, tolerance(TolClass::reduction, DType::f32), "dweight");
    check_close(*a.bias, *ref.bias, tolerance(TolClass::reduction, DType::f32), "dbias");
    check_equal(to(*a.weight, Device::cpu()), to(*b.weight, Device::cpu()), "dweight twice");
    check_equal(to(*a.bias, Device::cpu()), to(*b.bias, Device::cpu()), "dbias twice");
    // dbias alone: no x, no statistics
    op::LayerNormGrads only_b = op::layer_norm_backward(
        gc, std::nullopt, {300}, std::nullopt, std::nullopt, std::nullopt, {false, false, true});
    check_equal(to(*only_b.bias, Device::cpu()), to(*a.bias, Device::cpu()), "dbias alone");
}
