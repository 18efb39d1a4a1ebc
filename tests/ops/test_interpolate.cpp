// interpolate and drop_path beyond the registry's random cases: the CPU kernel's separable
// fast path against the readable per-output reference (tensor/cpu/interpolate_reference.h) for
// every mode, align_corners, up- and downsampling, float32 and float64, and the same bits for
// 1 and 2 threads; hand-derived answers for PyTorch's rules (nearest's index rounding, DINOv2's
// scale-factor mapping, clamped bicubic borders); the gradient where PyTorch's own backward
// disagrees with its forward (bicubic at equal sizes); argument errors; drop_path's statistics,
// generator use and edge values, and the same mask on the CPU and CUDA backends (suite "cuda");
// the nn::DropPath layer.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "nn/layers.h"
#include "tensor/cpu/interpolate_reference.h"
#include "tensor/ops/interpolate.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

std::vector<double> values(const Tensor& t) {
    Tensor c = contiguous(to(to(t, Device::cpu()), DType::f64));
    return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

void check_close(const Tensor& ours, const Tensor& ref, TolClass tol, const char* what) {
    Comparison cmp = compare(to(ours, Device::cpu()), ref, tolerance(tol, ours.dtype()));
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

// The reference loops over every plane of a contiguous (N, C, H, W) or (N, C, L) tensor.
template <typename T>
Tensor reference_forward(const InterpolateParams& p, const Tensor& x, const Shape& out_shape) {
    Tensor out = empty(out_shape, x.dtype());
    int64_t planes = x.numel() / (p.h.in * p.w.in);
    for (int64_t c = 0; c < planes; ++c)
        cpu::interpolate_plane_reference<T>(p, x.data<T>() + c * p.h.in * p.w.in,
                                            out.data<T>() + c * p.h.out * p.w.out);
    return out;
}

template <typename T>
Tensor reference_backward(const InterpolateParams& p, const Tensor& g, const Shape& x_shape) {
    Tensor gx = empty(x_shape, g.dtype());
    int64_t planes = g.numel() / (p.h.out * p.w.out);
    for (int64_t c = 0; c < planes; ++c)
        cpu::interpolate_backward_plane_reference<T>(p, g.data<T>() + c * p.h.out * p.w.out,
                                                     gx.data<T>() + c * p.h.in * p.w.in);
    return gx;
}

struct Geometry {
    Shape x;
    InterpolateOptions options;
};

std::vector<Geometry> geometries() {
    using M = InterpolateMode;
    std::vector<Geometry> list;
    for (bool ac : {false, true}) {
        for (M m : {M::bilinear, M::bicubic}) {
            list.push_back({{2, 5, 7, 9}, {.size = {19, 23}, .mode = m, .align_corners = ac}});
            list.push_back({{2, 5, 29, 31}, {.size = {6, 11}, .mode = m, .align_corners = ac}});
            list.push_back(
                {{1, 3, 16, 16},
                 {.scale_factor = {37.1 / 16, 4.1 / 16}, .mode = m, .align_corners = ac}});
            list.push_back({{1, 2, 5, 8}, {.size = {1, 1}, .mode = m, .align_corners = ac}});
        }
        list.push_back(
            {{2, 3, 17}, {.scale_factor = {2.3}, .mode = M::linear, .align_corners = ac}});
    }
    list.push_back({{2, 5, 7, 9}, {.size = {19, 18}}});
    list.push_back({{2, 5, 29, 31}, {.scale_factor = {0.3, 0.55}}});
    list.push_back({{2, 3, 17}, {.size = {40}}});
    return list;
}

}  // namespace

TEST_CASE_TEMPLATE("interpolate: the separable fast path against the reference loops", T, float,
                   double) {
    DType dtype = std::is_same_v<T, float> ? DType::f32 : DType::f64;
    for (const Geometry& geo : geometries()) {
        CAPTURE(interpolate_mode_name(geo.options.mode));
        CAPTURE(geo.x);
        InterpolateParams p = op::interpolate_params(geo.x, geo.options);
        Generator gen(3);
        Tensor x = randn(geo.x, dtype, Device::cpu(), gen);
        Tensor y = op::interpolate(x, p);
        // the same taps and weights in the same order: equal to the last bit (no FMA here)
        check_close(y, reference_forward<T>(p, x, y.shape()), TolClass::exact, "forward");
        Tensor g = randn(y.shape(), dtype, Device::cpu(), gen);
        Tensor gx = op::interpolate_backward(p, g, geo.x);
        check_close(gx, reference_backward<T>(p, g, geo.x), TolClass::reduction, "backward");
        // threads own whole planes: the thread count does not change a bit
        int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        Tensor y1 = op::interpolate(x, p), gx1 = op::interpolate_backward(p, g, geo.x);
        omp_set_num_threads(threads);
        check_close(y1, y, TolClass::exact, "forward, 1 thread");
        check_close(gx1, gx, TolClass::exact, "backward, 1 thread");
    }
}

TEST_CASE("interpolate: PyTorch's coordinate rules, derived by hand") {
    Tensor x = arange(0, 8, 1, DType::f64).reshape({1, 1, 8});  // x[i] = i
    // nearest 8 -> 3: floor(o * 8/3) = 0, 2, 5
    CHECK(values(interpolate(x, {.size = {3}})) == std::vector<double>{0, 2, 5});
    // nearest with scale 0.3 -> 2 outputs, mapped with 1 / 0.3: floor(o * 3.33) = 0, 3
    CHECK(values(interpolate(x, {.scale_factor = {0.3}})) == std::vector<double>{0, 3});
    // linear is exact on a linear ramp inside the input; align_corners=true maps o to 7 o / 3
    std::vector<double> ac = values(
        interpolate(x, {.size = {4}, .mode = InterpolateMode::linear, .align_corners = true}));
    for (int o = 0; o < 4; ++o) CHECK(ac[size_t(o)] == doctest::Approx(7.0 * o / 3).epsilon(1e-14));
    // align_corners=false, 8 -> 4: src = 2 (o + 0.5) - 0.5 = 0.5, 2.5, 4.5, 6.5
    std::vector<double> half =
        values(interpolate(x, {.size = {4}, .mode = InterpolateMode::linear}));
    CHECK(half == std::vector<double>{0.5, 2.5, 4.5, 6.5});
    // DINOv2: scale (4 + 0.1) / 8 gives floor(4.1) = 4 outputs mapped with 8 / 4.1, not 8 / 4:
    // src = (o + 0.5) * 8 / 4.1 - 0.5
    std::vector<double> dino =
        values(interpolate(x, {.scale_factor = {4.1 / 8}, .mode = InterpolateMode::linear}));
    REQUIRE(dino.size() == 4);
    for (int o = 0; o < 4; ++o)
        CHECK(dino[size_t(o)] == doctest::Approx((o + 0.5) * 8 / 4.1 - 0.5).epsilon(1e-14));
    // ... and recompute_scale_factor=true maps with 8 / 4, as size=4 does
    CHECK(values(interpolate(x, {.scale_factor = {4.1 / 8},
                                 .mode = InterpolateMode::linear,
                                 .recompute_scale_factor = true})) == half);
    // bicubic 8 -> 4 on the ramp samples at src = 2 o + 0.5, t = 1/2, where Keys' weights
    // (A = -0.75) are (-3/32, 19/32, 19/32, -3/32); the border taps clamp (x[-1] = x[0],
    // x[8] = x[7]): 19/32 - 6/32 = 0.40625, then 2.5, 4.5, and 6.59375 at the right border
    Tensor x2 = x.reshape({1, 1, 1, 8});
    CHECK(values(interpolate(x2, {.size = {1, 4}, .mode = InterpolateMode::bicubic})) ==
          std::vector<double>{0.40625, 2.5, 4.5, 6.59375});
    // align_corners 8 -> 8 samples the input points: t = 0, weights (0, 1, 0, 0)
    CHECK(values(interpolate(
              x2, {.size = {1, 8}, .mode = InterpolateMode::bicubic, .align_corners = true})) ==
          values(x));
}

TEST_CASE("interpolate: bicubic gradient at equal sizes (PyTorch 1.13's backward copies g)") {
    // scale 1.1 keeps 6 -> 6 but maps with 1 / 1.1: the forward is not the identity, so the
    // gradient is not g either (PyTorch's upsample_bicubic2d_backward returns g here).
    Tolerance tol = tolerance(TolClass::gradcheck, DType::f64);
    Generator gen(5);
    Tensor x = randn({1, 2, 6, 6}, DType::f64, Device::cpu(), gen);
    x.requires_grad_(true);
    auto f = [](const std::vector<Tensor>& in) {
        return interpolate(in[0], {.scale_factor = {1.1}, .mode = InterpolateMode::bicubic});
    };
    autograd::GradcheckResult r = autograd::gradcheck(f, {x}, {1e-6, tol.atol, tol.rtol});
    INFO(r.message);
    CHECK(r.ok);
}

TEST_CASE("interpolate: argument errors name the op, the mode and the shapes") {
    Tensor x = zeros({2, 3, 4, 5});
    using M = InterpolateMode;
    CHECK_THROWS_WITH_AS(interpolate(x, {.size = {8}, .align_corners = true}),
                         doctest::Contains("align_corners option can only be set with the "
                                           "interpolating modes"),
                         Error);
    CHECK_THROWS_WITH_AS(interpolate(x, {.size = {8}, .scale_factor = {2.0}}),
                         doctest::Contains("only one of size or scale_factor should be defined"),
                         Error);
    CHECK_THROWS_WITH_AS(interpolate(x, {}),
                         doctest::Contains("either size or scale_factor should be defined"), Error);
    CHECK_THROWS_WITH_AS(interpolate(x, {.size = {8}, .recompute_scale_factor = true}),
                         doctest::Contains("recompute_scale_factor is not meaningful"), Error);
    CHECK_THROWS_WITH_AS(interpolate(x, {.size = {8, 9, 10}}),
                         "interpolate: Input and output must have the same number of spatial "
                         "dimensions, but got input with spatial dimensions of [4, 5] and output "
                         "size of [8, 9, 10]",
                         Error);
    CHECK_THROWS_WITH_AS(interpolate(x, {.scale_factor = {2.0, 2.0, 2.0}}),
                         doctest::Contains("Input and scale_factor must have the same number"),
                         Error);
    CHECK_THROWS_WITH_AS(interpolate(x, {.size = {8}, .mode = M::bicubic, .antialias = true}),
                         doctest::Contains("antialias=true is not supported (mode bicubic, input "
                                           "shape [2, 3, 4, 5])"),
                         Error);
    CHECK_THROWS_WITH_AS(interpolate(x, {.size = {8}, .antialias = true}),
                         doctest::Contains("Anti-alias option is only supported for bilinear and "
                                           "bicubic modes"),
                         Error);
    CHECK_THROWS_WITH_AS(interpolate(zeros({2, 3, 4}), {.size = {8}, .mode = M::bilinear}),
                         doctest::Contains("Got 3D input, but bilinear mode needs 4D input"),
                         Error);
    CHECK_THROWS_WITH_AS(interpolate(x, {.size = {8}, .mode = M::linear}),
                         doctest::Contains("Got 4D input, but linear mode needs 3D input"), Error);
    CHECK_THROWS_WITH_AS(interpolate(zeros({2, 3}), {.size = {8}}),
                         doctest::Contains("takes a 3-d (N, C, L) or 4-d (N, C, H, W) input, got "
                                           "shape [2, 3]"),
                         Error);
    CHECK_THROWS_WITH_AS(
        interpolate(x, {.size = {0, 3}, .mode = M::bilinear}),
        "interpolate (bilinear): Input and output sizes should be greater than 0, "
        "but got input (H: 4, W: 5) output (H: 0, W: 3) (input shape [2, 3, 4, 5])",
        Error);
    CHECK_THROWS_WITH_AS(interpolate(x, {.scale_factor = {0.1}}),
                         doctest::Contains("output (H: 0, W: 0)"), Error);
    CHECK_THROWS_WITH_AS(interpolate(zeros({2, 0, 4, 5}), {.size = {8}}),
                         doctest::Contains("Non-empty 4D data tensor expected but got a tensor "
                                           "with sizes [2, 0, 4, 5]"),
                         Error);
    CHECK_THROWS_WITH_AS(interpolate(x, {.scale_factor = {std::nan("")}}),
                         doctest::Contains("scale_factor must be finite"), Error);
    CHECK_THROWS_WITH_AS(interpolate(zeros({2, 3, 4, 5}, DType::i64), {.size = {8}}),
                         doctest::Contains("expected a float32 or float64 input, got"), Error);
    // N = 0 is allowed (as PyTorch): an empty output of the new size
    CHECK(interpolate(zeros({0, 3, 4, 5}), {.size = {8}}).shape() == Shape{0, 3, 8, 8});
}

TEST_CASE("drop_path: per-sample keep rate, scale, generator use, eval and the p edge values") {
    const int64_t batch = 20000;
    Tensor x = ones({batch, 3, 2});
    Generator gen(17);
    const double p = 0.3;
    Tensor y = drop_path(x, p, true, gen);
    std::vector<double> v = values(y);
    int64_t kept = 0;
    const double scale = double(1.0f / float(1 - p));  // x * (1 / (1 - p)) in float32
    for (int64_t b = 0; b < batch; ++b) {
        double first = v[size_t(b * 6)];
        CHECK((first == 0 || first == doctest::Approx(scale).epsilon(1e-7)));
        for (int k = 1; k < 6; ++k)
            CHECK(v[size_t(b * 6 + k)] == first);  // one decision per sample
        kept += first != 0;
    }
    // Binomial(20000, 0.7): standard deviation 65 samples; 5 sigma
    CHECK(std::abs(double(kept) - 0.7 * batch) < 5 * std::sqrt(batch * 0.21));
    Tensor y2 = drop_path(x, p, true, gen);  // the generator moved on: another mask
    CHECK(values(y2) != v);
    Generator again(17);
    CHECK(values(drop_path(x, p, true, again)) == v);  // the same seed: the same mask
    CHECK(drop_path(x, 0.5, false, gen).is_same(x));   // eval: x itself
    CHECK(drop_path(x, 0.0, true, gen).is_same(x));
    Tensor nan_in = full({2, 2}, std::nan(""));
    std::vector<double> dropped = values(drop_path(ones({4, 5}), 1.0, true, gen));
    CHECK(dropped == std::vector<double>(20, 0.0));
    CHECK(std::isnan(values(drop_path(nan_in, 1.0))[0]));  // x * 0, as timm
    CHECK_THROWS_WITH_AS(drop_path(x, 1.5),
                         "drop_path: drop probability has to be between 0 and 1, but got 1.5 "
                         "(input shape [20000, 3, 2])",
                         Error);
    CHECK_THROWS_WITH_AS(drop_path_masked(x, ones({batch, 3, 1}), 0.5),
                         doctest::Contains("the keep mask must have shape (B, 1, ..., 1)"), Error);
}

TEST_CASE("drop_path: backward multiplies by the same mask and scale") {
    Generator gen(23);
    Tensor x = randn({64, 4}, DType::f64, Device::cpu(), gen);
    x.requires_grad_(true);
    Generator g1(9);
    Tensor y = drop_path(x, 0.25, true, g1);
    y.sum().backward();
    std::vector<double> gx = values(x.grad()), yv = values(y);
    for (size_t i = 0; i < gx.size(); ++i)
        CHECK(gx[i] == (yv[i] == 0 ? 0.0 : doctest::Approx(1 / 0.75).epsilon(1e-15)));
}

TEST_SUITE("cuda") {
    TEST_CASE("drop_path: the same seed draws the same mask on the CPU and the CUDA backend") {
        Tensor x = randn({257, 3, 5});
        Generator gc(31), gd(31);
        Tensor yc = drop_path(x, 0.4, true, gc);
        Tensor yd = drop_path(to(x, Device::cuda()), 0.4, true, gd);
        check_close(yd, yc, TolClass::exact, "drop_path on CUDA");
    }
}

TEST_CASE("nn::DropPath: drop_path in training, the identity in eval mode") {
    Generator gen(41);
    nn::DropPath layer(0.5, &gen);
    CHECK(layer.to_string() == "DropPath(drop_prob=0.500)");
    Tensor x = ones({400, 2});
    std::vector<double> y = values(layer.forward(x));
    int64_t dropped = std::count(y.begin(), y.end(), 0.0);
    CHECK(dropped > 0);
    CHECK(dropped < 800);
    layer.eval();
    CHECK(layer.forward(x).is_same(x));
    CHECK(nn::DropPath().forward(x).is_same(x));  // p = 0
    CHECK_THROWS_WITH_AS(nn::DropPath(-0.1),
                         "DropPath: drop probability must be in [0, 1], got -0.1", Error);
}
