// Pooling, dropout and normalize beyond the registry's random cases: the CPU fast paths
// against the readable reference loops (tensor/cpu/pool_reference.h) on inputs full of ties,
// NaN and -inf; PyTorch's edge rules with hand-derived answers (NaN wins, ties keep the first
// element, ceil_mode's last window, overlapping max gradients); argument errors; dropout's
// statistics, its generator use, and the same mask on the CPU and CUDA backends (suite
// "cuda": the simulator in CI).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "autograd/ops.h"
#include "tensor/cpu/pool_reference.h"
#include "tensor/ops/pool.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

std::vector<double> values(const Tensor& t) {
    Tensor c = contiguous(to(to(t, Device::cpu()), DType::f64));
    return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}
std::vector<int64_t> ints(const Tensor& t) {
    Tensor c = contiguous(to(t, Device::cpu()));
    return std::vector<int64_t>(c.data<int64_t>(), c.data<int64_t>() + c.numel());
}

void check_close(const Tensor& ours, const Tensor& ref, TolClass tol, const char* what) {
    Comparison cmp = compare(to(ours, Device::cpu()), ref, tolerance(tol, ours.dtype()));
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

// Values on a coarse grid (many exact ties), ReLU'd (windows of zeros, as after a ResNet's
// stem), with a sprinkling of NaN and -inf.
Tensor tie_heavy(Shape shape, uint64_t seed) {
    Generator gen(seed);
    Tensor r = randn(shape, DType::f32, Device::cpu(), gen);
    Tensor x = relu(to(to(r * 2.0, DType::i64), DType::f32));  // truncated: 0, 1, 2, ...
    Tensor u = rand(shape, DType::f32, Device::cpu(), gen);
    x = masked_fill(x, lt(u, 0.02), std::nan(""));
    return masked_fill(x, gt(u, 0.98), -std::numeric_limits<double>::infinity());
}

// The reference loops over every plane of a contiguous (N, C, H, W) float tensor.
std::pair<Tensor, Tensor> reference(const Pool2dParams& p, const Tensor& x) {
    Shape s = x.shape();
    s[2] = p.oh;
    s[3] = p.ow;
    Tensor out = empty(s, DType::f32), idx = empty(s, DType::i64);
    int64_t planes = s[0] * s[1];
    for (int64_t c = 0; c < planes; ++c)
        cpu::pool2d_plane_reference<float>(p, x.data<float>() + c * p.h * p.w,
                                           out.data<float>() + c * p.oh * p.ow,
                                           idx.data<int64_t>() + c * p.oh * p.ow);
    return {out, idx};
}

}  // namespace

TEST_CASE("max_pool2d fast paths (2x2, 3x3) match the reference loops, ties and NaN included") {
    struct Geo {
        Shape shape;
        op::Size2 k, s, pad;
        bool ceil;
    };
    for (const Geo& g : std::vector<Geo>{{{2, 3, 17, 16}, {3}, {2}, {1}, false},
                                         {{1, 4, 15, 18}, {3}, {2}, {1}, true},
                                         {{2, 2, 9, 11}, {3}, {1}, {0}, false},
                                         {{2, 3, 10, 13}, {2}, {2}, {0}, true},
                                         {{1, 2, 7, 9}, {2}, {1}, {1}, false}}) {
        CAPTURE(g.shape);
        CAPTURE(g.k[0]);
        Tensor x = tie_heavy(g.shape, 3);
        Pool2dParams p = op::max_pool2d_params(x.shape(), g.k, g.s, g.pad, {1}, g.ceil);
        auto [out, idx] = op::max_pool2d(x, p);
        auto [ref_out, ref_idx] = reference(p, x);
        check_close(out, ref_out, TolClass::exact, "values");
        CHECK(ints(idx) == ints(ref_idx));
    }
}

TEST_CASE("adaptive_avg_pool2d to 1x1 (fast path) matches the reference loop") {
    Generator gen(4);
    for (Shape shape :
         std::vector<Shape>{{3, 5, 5, 5}, {2, 3, 7, 7}, {1, 2, 1, 3}, {2, 2, 33, 31}}) {
        CAPTURE(shape);
        Tensor x = randn(shape, DType::f32, Device::cpu(), gen);
        Pool2dParams p = op::adaptive_avg_pool2d_params(shape, {1});
        Tensor out = op::avg_pool2d(x, p);
        check_close(out, reference(p, x).first, TolClass::reduction, "mean");
        Tensor g = randn(out.shape(), DType::f32, Device::cpu(), gen);
        Tensor gx = op::pool2d_backward(p, g, std::nullopt, shape);
        check_close(gx, expand(g / double(shape[2] * shape[3]), shape), TolClass::exact,
                    "gradient: g / (H W) everywhere");
    }
}

TEST_CASE("max_pool2d: NaN wins (the last NaN of a window), ties keep the first element") {
    double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
    // one window of 4: [1, NaN, 3, NaN] -> NaN at index 3 (PyTorch 1.13 gives the same)
    auto [v, i] =
        max_pool2d_with_indices(from_vector<double>({1, nan, 3, nan}, {1, 1, 1, 4}), {1, 4});
    CHECK(std::isnan(values(v)[0]));
    CHECK(ints(i) == std::vector<int64_t>{3});
    // ties: the first in row-major window order; all -inf: the window's first element
    auto [v2, i2] = max_pool2d_with_indices(
        from_vector<double>({2, 2, -inf, -inf, 2, 2, -inf, -inf}, {1, 2, 4}), {2});
    CHECK(values(v2) == std::vector<double>{2, -inf});
    CHECK(ints(i2) == std::vector<int64_t>{0, 2});
}

TEST_CASE("max_pool2d backward: overlapping windows sharing a maximum add their gradients") {
    // 3x3 of ones, 2x2 windows with stride 1: every window keeps its first (top-left) element,
    // indices 0, 1, 3, 4, so d sum / dx = [[1, 1, 0], [1, 1, 0], [0, 0, 0]].
    Tensor x = ones({1, 1, 3, 3}, {.dtype = DType::f64, .requires_grad = true});
    auto [y, idx] = max_pool2d_with_indices(x, {2}, {1});
    CHECK(ints(idx) == std::vector<int64_t>{0, 1, 3, 4});
    sum(y).backward();
    CHECK(values(x.grad()) == std::vector<double>{1, 1, 0, 1, 1, 0, 0, 0, 0});
    // one large value shared by all four windows: its gradient is 4
    Tensor z = from_vector<double>({0, 0, 0, 0, 9, 0, 0, 0, 0}, {1, 1, 3, 3});
    z.requires_grad_();
    sum(max_pool2d(z, {2}, {1})).backward();
    CHECK(values(z.grad()) == std::vector<double>{0, 0, 0, 0, 4, 0, 0, 0, 0});
}

TEST_CASE("pooling output sizes follow PyTorch's rule, ceil_mode included") {
    auto size = [](int64_t h, int64_t k, int64_t s, int64_t pad, int64_t d, bool ceil) {
        return op::max_pool2d_params({1, 1, h, h}, {k}, {s}, {pad}, {d}, ceil).oh;
    };
    CHECK(size(72, 3, 2, 1, 1, false) == 36);  // ResNet-18 stem at 144 px: 72 -> 36
    CHECK(size(4, 2, 2, 1, 1, true) == 3);     // (4 + 2 - 2 + 1) / 2 = 2.5 -> 3
    CHECK(size(5, 2, 2, 0, 1, false) == 2);
    CHECK(size(5, 2, 2, 0, 1, true) == 3);  // last window starts at 4, inside the input
    // ceil gives (5 + 2 - 1 - 1 + 2) / 3 = 7/3 -> 3 windows, but the third would start at
    // 6 >= 5 + 1, in the right padding: dropped
    CHECK(size(5, 2, 3, 1, 1, true) == 2);
    CHECK(size(9, 3, 1, 1, 2, false) == 7);  // dilation 2: span 5
    // avg_pool2d with ceil_mode: the last window is clipped at the padded border, and the
    // divisor counts padding only up to it. 1x5, kernel 3, stride 2, pad 1, ceil: windows
    // [-1, 2), [1, 4), [3, 6) -> the last one holds x3, x4 and one pad: divisor 3.
    Tensor x = from_vector<double>({1, 2, 3, 4, 5}, {1, 1, 5});
    CHECK(values(avg_pool2d(x, {1, 3}, {1, 2}, {0, 1}, true)) ==
          std::vector<double>{3.0 / 3, 9.0 / 3, 9.0 / 3});
    CHECK(values(avg_pool2d(x, {1, 3}, {1, 2}, {0, 1}, true, false)) ==
          std::vector<double>{3.0 / 2, 9.0 / 3, 9.0 / 2});
    CHECK(values(avg_pool2d(x, {1, 3}, {1, 2}, {0, 1}, true, true, 2)) ==
          std::vector<double>{1.5, 4.5, 4.5});
    // adaptive 5 -> 3: windows [0, 2), [1, 4), [3, 5)
    CHECK(values(adaptive_avg_pool2d(x, {1, 3})) == std::vector<double>{1.5, 3, 4.5});
}

TEST_CASE("pooling errors name the op and the shapes") {
    Tensor x = zeros({2, 3, 5, 5});
    CHECK_THROWS_WITH_AS(max_pool2d(x, {3}, {1}, {2}),
                         "max_pool2d: pad should be at most half of kernel size, but got "
                         "pad=(2, 2) and kernel_size=(3, 3)",
                         Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, {6}),
                         "max_pool2d: given input size (3x5x5), the calculated output size "
                         "(3x0x0) is too small (input shape [2, 3, 5, 5])",
                         Error);
    CHECK_THROWS_WITH_AS(max_pool2d(zeros({3, 5}), {2}),
                         doctest::Contains("max_pool2d: expected a 3D (C, H, W) or 4D (N, C, "
                                           "H, W) input with non-zero C, H, W (N may be 0), "
                                           "got shape [3, 5]"),
                         Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, {0}), doctest::Contains("kernel size should be greater"),
                         Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, {2, 2, 2}), doctest::Contains("max_pool2d: kernel_size"),
                         Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, {2}, {0}), doctest::Contains("stride should be greater"),
                         Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, {2}, {}, {0}, {0}),
                         doctest::Contains("dilation should be greater"), Error);
    CHECK_THROWS_WITH_AS(max_pool2d(zeros({1, 2, 4, 4}, DType::i64), {2}),
                         "max_pool2d: expected a float32 or float64 input, got int64 (shape [1, 2, "
                         "4, 4])",
                         Error);
    CHECK_THROWS_WITH_AS(avg_pool2d(x, {2}, {}, {0}, false, true, 0),
                         "avg_pool2d: divisor must be not zero (input shape [2, 3, 5, 5])", Error);
    CHECK_THROWS_WITH_AS(adaptive_avg_pool2d(x, {-1, 2}),
                         doctest::Contains("adaptive_avg_pool2d: elements of output_size"), Error);
    CHECK_THROWS_WITH_AS(adaptive_avg_pool2d(zeros({2, 3, 0, 5}), {2}),
                         doctest::Contains("non-zero H and W, got shape [2, 3, 0, 5]"), Error);
    // an empty batch is allowed, as in PyTorch
    CHECK(max_pool2d(zeros({0, 3, 5, 5}), {2}).shape() == Shape{0, 3, 2, 2});
    CHECK(adaptive_avg_pool2d(x, {0, 2}).shape() == Shape{2, 3, 0, 2});
}

TEST_CASE("dropout: keep rate, scale, generator use, eval and the p edge values") {
    int64_t n = int64_t(1) << 20;
    Tensor x = ones({n}, DType::f32);
    for (double p : {0.1, 0.5, 0.9}) {
        CAPTURE(p);
        Generator gen(7);
        Tensor y = dropout(x, p, true, gen);
        std::vector<double> v = values(y);
        int64_t kept = 0;
        bool scaled = true;
        for (double e : v) {
            kept += e != 0;
            scaled &= e == 0 || e == double(1.0f / float(1 - p));  // exactly x * (1 / (1 - p))
        }
        CHECK(scaled);
        // binomial: |kept - n (1 - p)| within 5 standard deviations
        double sd = std::sqrt(double(n) * p * (1 - p));
        CHECK(std::abs(double(kept) - double(n) * (1 - p)) < 5 * sd);
        CHECK(gen.state().offset == uint64_t(n / 4));  // one Philox block per 4 elements
        Tensor y2 = dropout(x, p, true, gen);          // the next draw: another mask
        CHECK(values(y2) != v);
    }
    Generator gen(7);
    CHECK(dropout(x, 0.5, false, gen).is_same(x));  // eval: x itself
    CHECK(dropout(x, 0.0, true, gen).is_same(x));
    CHECK(gen.state().offset == 0);  // neither drew from the generator
    Tensor nan_in = from_vector<double>({std::nan(""), 1}, {2});
    CHECK(std::isnan(values(dropout(nan_in, 1.0))[0]));  // x * 0, as PyTorch
    CHECK_THROWS_WITH_AS(dropout(x, 1.5),
                         "dropout: probability has to be between 0 and 1, but got 1.5 (input "
                         "shape [1048576])",
                         Error);
}

TEST_CASE("dropout: the mask does not depend on the dtype; backward applies the same mask") {
    Generator g32(3), g64(3);
    Tensor x = randn({1001}, {.dtype = DType::f64, .requires_grad = true});
    Tensor y64 = dropout(x, 0.4, true, g64);
    Tensor y32 = dropout(to(detach(x), DType::f32), 0.4, true, g32);
    std::vector<double> a = values(y64), b = values(y32);
    bool same_mask = true;
    for (size_t i = 0; i < a.size(); ++i) same_mask &= (a[i] == 0) == (b[i] == 0);
    CHECK(same_mask);
    sum(y64).backward();
    std::vector<double> g = values(x.grad());
    bool rule = true;
    for (size_t i = 0; i < a.size(); ++i) rule &= g[i] == (a[i] == 0 ? 0 : 1 / 0.6);
    CHECK(rule);
}

TEST_CASE("normalize: rows below eps are divided by eps, and pass g / eps back") {
    Tensor x = from_vector<double>({3, 4, 0, 0}, {2, 2});
    x.requires_grad_();
    Tensor y = normalize(x, 2, 1, 1e-3);
    check_close(y, from_vector<double>({0.6, 0.8, 0, 0}, {2, 2}), TolClass::elementwise,
                "values");
    y.backward(from_vector<double>({0, 0, 1, 2}, {2, 2}));
    // row 1: denominator is the constant eps: d/dx (x / eps) = 1 / eps
    std::vector<double> g = values(x.grad());
    CHECK(g[2] == doctest::Approx(1e3));
    CHECK(g[3] == doctest::Approx(2e3));
}

TEST_SUITE("cuda") {
    TEST_CASE("dropout: the same seed draws the same mask on the CPU and the CUDA backend") {
        for (DType dtype : {DType::f32, DType::f64}) {
            CAPTURE(dtype);
            Generator gc(21), gd(21);
            Tensor x = randn({3, 1037}, dtype);  // not a multiple of 4: a partial last block
            Tensor xc = detach(x), xd = to(detach(x), Device::cuda());
            xc.requires_grad_();
            xd.requires_grad_();
            Tensor yc = dropout(xc, 0.25, true, gc), yd = dropout(xd, 0.25, true, gd);
            check_close(yd, yc, TolClass::exact, "forward");
            Tensor g = randn({3, 1037}, dtype);
            yc.backward(g);
            yd.backward(to(g, Device::cuda()));
            check_close(xd.grad(), xc.grad(), TolClass::exact, "backward");
        }
    }

    TEST_CASE("max_pool2d on CUDA: ties, NaN and -inf give the CPU's values, indices, gradients") {
        Tensor x = tie_heavy({2, 3, 19, 21}, 9);
        Tensor xc = detach(x);
        xc.requires_grad_();
        Tensor xd = to(detach(x), Device::cuda());
        xd.requires_grad_();
        auto [yc, ic] = max_pool2d_with_indices(xc, {3}, {2}, {1});
        auto [yd, id] = max_pool2d_with_indices(xd, {3}, {2}, {1});
        check_close(yd, yc, TolClass::exact, "values");
        CHECK(ints(id) == ints(ic));
        Tensor g = randn(yc.shape(), DType::f32);
        yc.backward(g);
        yd.backward(to(g, Device::cuda()));
        check_close(xd.grad(), xc.grad(), TolClass::exact, "gradient");
    }
}
