// conv2d: the CPU kernels (implicit GEMM and direct paths, tensor/cpu/conv.cpp) against the
// readable loops (tensor/cpu/conv_reference.h) across tile and block edges, threads and
// ISAs (ctest runs this per ISA and on one thread); gradients computed only where needed;
// PyTorch's argument errors; the fused ReLU on every path, and on CUDA (suite "cuda").
#include <doctest/doctest.h>

#include "autograd/node.h"
#include "marrow.h"
#include "tensor/cpu/conv_reference.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/dispatch.h"
#include "tensor/ops/conv.h"
#include "tests/compare.h"
#include "tests/cpu_isa.h"

using namespace marrow;

namespace {

struct Geo {
    Shape x, w;
    Conv2dParams p;
};

template <typename T>
void check_against_reference(const Geo& geo, DType dtype) {
    CAPTURE(geo.x);
    CAPTURE(geo.w);
    CAPTURE(geo.p.stride);
    CAPTURE(geo.p.padding);
    CAPTURE(geo.p.dilation);
    CAPTURE(geo.p.groups);
    Conv2dGeometry g = op::conv2d_geometry(geo.x, geo.w, geo.p);
    Generator gen(uint64_t(g.n * 1000 + g.c * 100 + g.o));
    Tensor x = randn(geo.x, dtype, Device::cpu(), gen), w = randn(geo.w, dtype, Device::cpu(), gen);
    Tensor b = randn({g.o}, dtype, Device::cpu(), gen);
    Tensor y = op::conv2d(x, w, b, geo.p);
    Tensor gy = randn(y.shape(), dtype, Device::cpu(), gen);
    Tensor y_ref = zeros(y.shape(), dtype), gx_ref = zeros(geo.x, dtype),
           gw_ref = zeros(geo.w, dtype);
    cpu::conv2d_reference<T>(g, x.data<T>(), w.data<T>(), b.data<T>(), y_ref.data<T>());
    cpu::conv2d_backward_input_reference<T>(g, gy.data<T>(), w.data<T>(), gx_ref.data<T>());
    cpu::conv2d_backward_weight_reference<T>(g, x.data<T>(), gy.data<T>(), gw_ref.data<T>());
    test::Tolerance tol = test::tolerance(test::TolClass::matmul_deep, dtype);
    struct Check {
        const char* name;
        Tensor ours, ref;
    };
    // (A struct, not structured bindings: clang 14 cannot capture those in INFO's lambda.)
    Conv2dParams fused = geo.p;
    fused.relu = true;
    for (const Check& check :
         {Check{"forward", y, y_ref},
          Check{"forward with the fused ReLU", op::conv2d(x, w, b, fused), relu(y_ref)},
          Check{"input gradient", op::conv2d_backward_input(gy, w, geo.x, geo.p), gx_ref},
          Check{"weight gradient", op::conv2d_backward_weight(x, gy, geo.w, geo.p), gw_ref}}) {
        test::Comparison c = test::compare(check.ours, check.ref, tol);
        INFO(check.name, ": ", c.detail);
        CHECK(c.ok);
    }
}

Conv2dParams params(std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                    std::array<int64_t, 2> dilation = {1, 1}, int64_t groups = 1) {
    return {stride, padding, dilation, groups, false};
}

}  // namespace

TEST_CASE("conv2d CPU kernels match the reference loops") {
    if (!test::cpu_isa_available()) return;
    Conv2dParams same{{1, 1}, {0, 0}, {1, 2}, 1, true};
    std::vector<Geo> geos = {
        // implicit GEMM: 12-row edges (Og = 13, 16, 70), NR-wide pixel panels across output
        // rows and images (batches of images under 256 output pixels), K slices past 512
        // (Kc = 576), stride / padding / dilation per axis
        {{3, 5, 11, 10}, {16, 5, 3, 3}, params({1, 1}, {1, 1})},
        {{2, 3, 20, 19}, {13, 3, 7, 7}, params({2, 2}, {3, 3})},
        {{2, 64, 6, 6}, {16, 64, 3, 3}, params({1, 1}, {1, 1})},
        {{5, 3, 30, 40}, {70, 3, 3, 3}, params({1, 1}, {1, 1})},
        {{2, 6, 9, 8}, {16, 3, 3, 2}, params({1, 2}, {2, 0}, {2, 1}, 2)},
        {{2, 4, 9, 10}, {8, 4, 4, 3}, same},
        // input-gradient blocks of 227 columns that end inside an image (Kc = 1152)
        {{4, 128, 18, 18}, {8, 128, 3, 3}, params({1, 1}, {1, 1})},
        // channels-last direct path (groups 1, >= 16 input channels, k > 1; conv_nhwc.cpp):
        // 40 output channels (a partial 32-wide block), 24 input channels (weight-gradient
        // panels crossing taps), 12-pixel tiles across rows and images, stride 2 (input
        // gradient by the GEMM), dilation with asymmetric gradient padding, padding wider
        // than the kernel (input gradient by the GEMM), "same" with an even kernel, one
        // image, a 1x1 conv of 256 channels on small images
        {{3, 24, 11, 10}, {40, 24, 3, 3}, params({1, 1}, {1, 1})},
        {{2, 16, 9, 8}, {20, 16, 3, 2}, params({2, 1}, {1, 0}, {1, 2})},
        {{2, 32, 7, 9}, {32, 32, 5, 3}, params({1, 1}, {1, 2}, {2, 1})},
        {{1, 16, 5, 5}, {16, 16, 3, 3}, params({1, 1}, {3, 3})},
        {{2, 16, 9, 8}, {16, 16, 4, 3}, same},
        {{1, 32, 12, 12}, {48, 32, 3, 3}, params({1, 1}, {1, 1})},
        {{3, 256, 3, 4}, {40, 256, 1, 1}, params({1, 1}, {0, 0})},  // 1x1, many channels
        // Winograd F(2x2, 3x3) (3x3, stride 1, padding 1, channels multiples of 16;
        // conv_winograd.cpp): odd sizes (tiles past the edge), fused blocks across images with
        // a partial 32-channel block (48), the phased schedule (many channels, 272 = 8.5
        // blocks), 64 images of 2 x 3 (tile rows of one tile, a register tile across
        // images), and enough tile rows for the weight gradient's per-thread chunks (17 rows
        // of 6 tiles: chunks across images, a partial last one)
        {{3, 16, 7, 9}, {48, 16, 3, 3}, params({1, 1}, {1, 1})},
        {{2, 64, 11, 6}, {32, 64, 3, 3}, params({1, 1}, {1, 1})},
        {{3, 64, 7, 6}, {272, 64, 3, 3}, params({1, 1}, {1, 1})},
        {{2, 256, 5, 5}, {256, 256, 3, 3}, params({1, 1}, {1, 1})},
        {{64, 16, 2, 3}, {16, 16, 3, 3}, params({1, 1}, {1, 1})},
        {{16, 64, 12, 11}, {64, 64, 3, 3}, params({1, 1}, {1, 1})},
        // strided input gradients by phase: stride 3 > kernel 2 (phases without taps), and
        // padding wider than the kernel's reach
        {{2, 16, 10, 11}, {16, 16, 2, 2}, params({3, 3}, {0, 0})},
        {{2, 16, 7, 8}, {24, 16, 3, 3}, params({2, 2}, {3, 2})},
        // fewer images than threads: products split along pixels / channels / rows
        {{1, 4, 9, 9}, {24, 4, 3, 3}, params({2, 2}, {1, 1})},
        {{1, 2, 7, 7}, {8, 1, 3, 3}, params({1, 1}, {1, 1}, {1, 1}, 2)},
        // 1x1: a plain GEMM (stride 1) and the downsample form (stride 2)
        {{3, 40, 6, 6}, {70, 40, 1, 1}, params({1, 1}, {0, 0})},
        {{2, 16, 7, 7}, {33, 16, 1, 1}, params({2, 2}, {0, 0})},
        // direct: depthwise, and groups of 4 output channels
        {{2, 8, 7, 7}, {8, 1, 3, 3}, params({1, 1}, {1, 1}, {1, 1}, 8)},
        {{3, 6, 8, 9}, {12, 2, 3, 3}, params({2, 1}, {1, 2}, {1, 2}, 3)},
        {{2, 4, 5, 5}, {4, 1, 2, 2}, {{1, 1}, {0, 0}, {1, 1}, 4, true}},
    };
    for (const Geo& geo : geos) {
        check_against_reference<float>(geo, DType::f32);
        check_against_reference<double>(geo, DType::f64);
    }
}

namespace {

int g_input_grads = 0, g_weight_grads = 0;
void counting_input(const Conv2dGeometry& g, const Tensor& gy, const Tensor& w, const Tensor& gx) {
    ++g_input_grads;
    cpu::conv2d_backward_input(g, gy, w, gx);
}
void counting_weight(const Conv2dGeometry& g, const Tensor& x, const Tensor& gy, const Tensor& gw) {
    ++g_weight_grads;
    cpu::conv2d_backward_weight(g, x, gy, gw);
}

}  // namespace

TEST_CASE("conv2d computes only the gradients that are needed") {
    ensure_backends();
    register_kernel<OpId::conv2d_backward_input>(DeviceType::cpu, counting_input);
    register_kernel<OpId::conv2d_backward_weight>(DeviceType::cpu, counting_weight);
    g_input_grads = g_weight_grads = 0;
    Tensor images = randn({2, 3, 6, 6}), w = randn({8, 3, 3, 3}).requires_grad_();
    SUBCASE("first layer on images: weight gradient only") {
        conv2d(images, w, std::nullopt, params({1, 1}, {1, 1})).sum().backward();
        CHECK(g_input_grads == 0);
        CHECK(g_weight_grads == 1);
    }
    SUBCASE("frozen layer: input gradient only, and no saved activation") {
        Tensor x = randn({2, 3, 6, 6}).requires_grad_(), frozen = randn({8, 3, 3, 3});
        Tensor b = randn({8}).requires_grad_();
        int64_t before = autograd::saved_tensor_bytes();
        Tensor y = conv2d(x, frozen, b);
        CHECK(autograd::saved_tensor_bytes() - before == frozen.numel() * 4);  // the weight only
        y.sum().backward();
        CHECK(g_input_grads == 1);
        CHECK(g_weight_grads == 0);
        CHECK(allclose(b.grad(), full({8}, 2.0 * 4 * 4)));  // 2 images x 4 x 4 outputs
    }
    register_kernel<OpId::conv2d_backward_input>(DeviceType::cpu, cpu::conv2d_backward_input);
    register_kernel<OpId::conv2d_backward_weight>(DeviceType::cpu, cpu::conv2d_backward_weight);
}

TEST_CASE("conv2d argument errors name the op and the shapes, as PyTorch's do") {
    Tensor x = randn({2, 4, 8, 8}), w = randn({6, 4, 3, 3});
    CHECK_THROWS_WITH_AS(conv2d(randn({4, 8}), w), doctest::Contains("conv2d: expected 3D"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, randn({6, 4, 3})), doctest::Contains("4-dimensional weight"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(x, randn({6, 3, 3, 3})),
                         doctest::Contains("to have 3 channels, but got 4 channels"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, w, randn({5})),
                         doctest::Contains("expected bias to be 1-dimensional with 6 elements"),
                         Error);
    CHECK_THROWS_WITH_AS(
        conv2d(x, randn({6, 1, 3, 3}), std::nullopt, params({1, 1}, {0, 0}, {1, 1}, 4)),
        doctest::Contains("expected weight to be divisible by 4"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, w, std::nullopt, params({0, 1}, {0, 0})),
                         doctest::Contains("non-positive stride"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, w, std::nullopt, params({1, 1}, {-1, 0})),
                         doctest::Contains("negative padding"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, w, std::nullopt, params({1, 1}, {0, 0}, {0, 1})),
                         doctest::Contains("dilation should be greater than zero"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, w, std::nullopt, params({1, 1}, {0, 0}, {1, 1}, 0)),
                         doctest::Contains("non-positive groups"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, w, std::nullopt, {{2, 1}, {0, 0}, {1, 1}, 1, true}),
                         doctest::Contains("padding='same' is not supported for strided"), Error);
    CHECK_THROWS_WITH_AS(conv2d(randn({1, 4, 2, 8}), w),
                         doctest::Contains("Kernel size can't be greater than actual input size"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(x, randn({6, 4, 3, 3}, DType::f64)), doctest::Contains("conv2d"),
                         Error);
    // the fused ReLU has no backward
    Conv2dParams fused;
    fused.relu = true;
    CHECK_THROWS_WITH_AS(conv2d(x, w.requires_grad_(), std::nullopt, fused),
                         doctest::Contains("the fused ReLU (Conv2dParams::relu) is for inference"),
                         Error);
    autograd::NoGradGuard no_grad;
    CHECK(conv2d(x, w, std::nullopt, fused).shape() == Shape{2, 6, 6, 6});
}

TEST_SUITE_BEGIN("cuda");

TEST_CASE("conv2d's fused ReLU on CUDA: as relu(conv2d) on the CPU") {
    Generator gen(7);
    Conv2dParams fused;
    fused.padding = {1, 1};
    fused.relu = true;
    Tensor x = randn({2, 5, 9, 8}, DType::f32, Device::cpu(), gen),
           w = randn({70, 5, 3, 3}, DType::f32, Device::cpu(), gen),
           b = randn({70}, DType::f32, Device::cpu(), gen);
    Tensor expected = relu(op::conv2d(x, w, b, {.padding = {1, 1}}));
    Tensor y =
        op::conv2d(to(x, Device::cuda()), to(w, Device::cuda()), to(b, Device::cuda()), fused);
    test::Comparison c = test::compare(to(y, Device::cpu()), expected,
                                       test::tolerance(test::TolClass::matmul_deep, DType::f32));
    INFO(c.detail);
    CHECK(c.ok);
}

TEST_SUITE_END();

TEST_CASE("conv2d output shapes follow PyTorch") {
    Tensor x = randn({2, 3, 10, 9});
    CHECK(conv2d(x, randn({5, 3, 3, 3})).shape() == Shape{2, 5, 8, 7});
    CHECK(conv2d(x, randn({5, 3, 3, 3}), std::nullopt, params({2, 3}, {1, 2})).shape() ==
          Shape{2, 5, 5, 4});
    CHECK(conv2d(x, randn({5, 3, 4, 2}), std::nullopt, {{1, 1}, {0, 0}, {2, 3}, 1, true}).shape() ==
          Shape{2, 5, 10, 9});
    CHECK(conv2d(randn({3, 10, 9}), randn({5, 3, 3, 3})).shape() == Shape{5, 8, 7});
    CHECK(conv2d(randn({0, 3, 10, 9}), randn({5, 3, 3, 3})).shape() == Shape{0, 5, 8, 7});
}
