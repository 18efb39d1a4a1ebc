// Tensor core: dtypes, factories, Philox RNG, conversions, printing, and error messages.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>

#include "marrow.h"
#include "tensor/ops/copy.h"
#include "tensor/philox.h"

using namespace marrow;

TEST_CASE("dtype list: sizes, names, f16/bf16 rounding") {
    CHECK(dtype_size(DType::f32) == 4);
    CHECK(dtype_size(DType::bf16) == 2);
    CHECK(dtype_size(DType::b8) == 1);
    CHECK(dtype_name(DType::i64) == "int64");
    CHECK(dtype_safetensors_tag(DType::b8) == "BOOL");
    CHECK(Half(0.1f).bits == 0x2E66);  // IEEE half nearest to 0.1
    CHECK(Half(1.0f).bits == 0x3C00);
    CHECK(Half(65504.0f).bits == 0x7BFF);
    CHECK(std::isinf(float(Half(70000.0f))));
    CHECK(float(Half(Half::to_float(0x0001))) == doctest::Approx(5.960464477539063e-08));
    CHECK(BFloat16(0.1f).bits == 0x3DCD);
    CHECK(BFloat16(1.0f).bits == 0x3F80);
    CHECK(std::isnan(float(BFloat16(NAN))));
}

TEST_CASE("factories") {
    Tensor a = arange(5);
    CHECK(a.dtype() == DType::i64);
    CHECK(a.shape() == Shape{5});
    CHECK(a.data<int64_t>()[4] == 4);
    Tensor l = linspace(0, 1, 5);
    CHECK(l.data<float>()[1] == doctest::Approx(0.25));
    CHECK(l.data<float>()[4] == 1.0f);
    Tensor e = eye(3, DType::f64);
    CHECK(e.data<double>()[4] == 1.0);
    CHECK(e.data<double>()[5] == 0.0);
    CHECK(full({2, 2}, 3.5).data<float>()[3] == 3.5f);
    CHECK(zeros({0, 3}).numel() == 0);
    CHECK(scalar_tensor(2.0).dim() == 0);
    CHECK(arange(0, 1, 0.25, DType::f32).numel() == 4);
}

TEST_CASE("Philox 4x32-10 matches the Random123 known-answer vector") {
    philox::Block b = philox::generate(0, 0);  // key 0, counter 0
    CHECK(b.v[0] == 0x6627e8d5u);
    CHECK(b.v[1] == 0xe169c58du);
    CHECK(b.v[2] == 0xbc57ac4cu);
    CHECK(b.v[3] == 0x9b00dbd8u);
}

TEST_CASE("random streams depend on (seed, offset) only, not on thread count") {
    Generator g1(7), g2(7);
    omp_set_num_threads(1);
    Tensor a = randn({300001}, DType::f32, Device::cpu(), g1);
    omp_set_num_threads(2);
    Tensor b = randn({300001}, DType::f32, Device::cpu(), g2);
    CHECK(std::equal(a.data<float>(), a.data<float>() + a.numel(), b.data<float>()));
    // Moments of N(0, 1) over 300k draws.
    CHECK(std::abs(mean(a).item()) < 0.01);
    CHECK(marrow::std(a).item() == doctest::Approx(1).epsilon(0.01));
    Tensor u = rand({100000}, DType::f64, Device::cpu(), g1);
    CHECK(min(u).item() >= 0.0);
    CHECK(max(u).item() < 1.0);
    CHECK(mean(u).item() == doctest::Approx(0.5).epsilon(0.01));
    Tensor r = randint(3, 9, {10000}, DType::i64, Device::cpu(), g1);
    CHECK(min(to(r, DType::f64)).item() == 3);
    CHECK(max(to(r, DType::f64)).item() == 8);
}

TEST_CASE("generator state resumes a stream exactly") {
    Generator g(3);
    rand({5}, DType::f32, Device::cpu(), g);
    GeneratorState s = g.state();
    CHECK(s.offset == 2);  // ceil(5 / 4) blocks
    Tensor a = rand({9}, DType::f32, Device::cpu(), g);
    g.set_state(s);
    Tensor b = rand({9}, DType::f32, Device::cpu(), g);
    CHECK(std::equal(a.data<float>(), a.data<float>() + 9, b.data<float>()));
}

TEST_CASE("dtype conversions") {
    Tensor x = from_vector<float>({-1.7f, 0.0f, 2.5f});
    CHECK(to(x, DType::i64).data<int64_t>()[0] == -1);
    CHECK(to(x, DType::b8).data<bool>()[1] == false);
    CHECK(to(x, DType::b8).data<bool>()[2] == true);
    Tensor h = to(x, DType::f16);
    CHECK(float(h.data<Half>()[2]) == 2.5f);
    CHECK(to(h, DType::f32).data<float>()[0] == doctest::Approx(-1.7).epsilon(1e-3));
    CHECK(float(to(x, DType::bf16).data<BFloat16>()[2]) == 2.5f);
}

TEST_CASE("printing like PyTorch") {
    Tensor x = from_vector<float>({1.0f, 2.5f, -3.0f, 4.0f}, {2, 2});
    CHECK(fmt::format("{}", x) ==
          "tensor([[1.0000, 2.5000],\n        [-3.0000, 4.0000]], dtype=float32, shape=[2, 2])");
    CHECK(fmt::format("{}", arange(3)) == "tensor([0, 1, 2], dtype=int64, shape=[3])");
    std::string big = fmt::format("{}", zeros({2000}));
    CHECK(big.find("...") != std::string::npos);
    CHECK(big.size() < 200);
}

TEST_CASE("errors name the op and both shapes") {
    Tensor a = zeros({2, 3}), b = zeros({4, 5});
    CHECK_THROWS_WITH_AS(
        a + b, doctest::Contains("add: shapes [2, 3] and [4, 5] cannot be broadcast"), Error);
    CHECK_THROWS_WITH_AS(mm(a, b), doctest::Contains("mm: shapes [2, 3] and [4, 5]"), Error);
    CHECK_THROWS_WITH_AS(a + zeros({2, 3}, DType::f64),
                         doctest::Contains("add: dtype mismatch: float32 (shape [2, 3]) vs "
                                           "float64"),
                         Error);
    CHECK_THROWS_WITH_AS(a.item(), doctest::Contains("6 elements"), Error);
    CHECK_THROWS_WITH_AS(exp(to(a, DType::f16)), doctest::Contains("exp: dtype float16"), Error);
    CHECK_THROWS_WITH_AS(index_select(a, 1, from_vector<int64_t>({0, 3})),
                         doctest::Contains("index_select: index 3 out of range [0, 3)"), Error);
    CHECK_THROWS_WITH_AS(sum(a, {2}), doctest::Contains("sum: dim 2 out of range"), Error);
#if defined(MARROW_CUDA_SIM) || defined(MARROW_CUDA_NVCC)
    // No device 99 anywhere: "does not exist", or "no CUDA device" on a machine without one.
    CHECK_THROWS_WITH_AS(to(a, Device::cuda(99)), doctest::Contains("cuda:99"), Error);
#else
    CHECK_THROWS_WITH_AS(to(a, Device::cuda()), doctest::Contains("no backend for it"), Error);
#endif
    CHECK_THROWS_WITH_AS(arange(4, DType::i64) / from_vector<int64_t>({1, 0, 1, 1}),
                         doctest::Contains("integer division by zero"), Error);
}

// Note [Checked shape products]: a shape from a user whose element count, strides or byte
// size overflows int64 is an error naming the op and the shape, never a wrapped small size.
TEST_CASE("shape products that overflow int64 are errors, not wrapped sizes") {
    const int64_t k32 = int64_t(1) << 32, k31 = int64_t(1) << 31, k62 = int64_t(1) << 62;
    CHECK(checked_mul(k31, k31) == std::optional<int64_t>(k62));
    CHECK(checked_mul(k32, k32) == std::nullopt);
    CHECK(checked_mul(k62, 2) == std::nullopt);
    CHECK(checked_mul(0, k62) == std::optional<int64_t>(0));
    CHECK(shape_numel({k31, k31}) == k62);
    CHECK(contiguous_strides({k62, 2}) == Shape{2, 1});
    CHECK(checked_numel({}, "t") == 1);
    CHECK(checked_numel({3, 0, 5}, "t", 8) == 0);
    CHECK_THROWS_WITH_AS(shape_numel({k32, k32}),
                         "shape [4294967296, 4294967296] is too large (its element count "
                         "overflows int64)",
                         Error);
    CHECK_THROWS_WITH_AS(contiguous_strides({0, k32, k32}),
                         "shape [0, 4294967296, 4294967296] is too large (its strides overflow "
                         "int64)",
                         Error);
    CHECK_THROWS_WITH_AS(empty({k32, k32}),
                         "empty: shape [4294967296, 4294967296] is too large (its element count "
                         "or strides overflow int64)",
                         Error);
    CHECK_THROWS_WITH_AS(empty({0, k32, k32}, DType::u8),
                         "empty: shape [0, 4294967296, 4294967296] is too large (its element "
                         "count or strides overflow int64)",
                         Error);
    CHECK_THROWS_WITH_AS(zeros({k31, k31}, DType::f64),
                         "empty: shape [2147483648, 2147483648] is too large "
                         "(4611686018427387904 elements of 8 bytes overflow int64)",
                         Error);
    CHECK_THROWS_WITH_AS(empty({2, -3}), "empty: negative size in shape [2, -3]", Error);
    Tensor x = zeros({4});
    CHECK_THROWS_WITH_AS(reshape(x, {-1, k32, k32}),
                         "reshape: shape [-1, 4294967296, 4294967296] is too large (overflows "
                         "int64)",
                         Error);
    CHECK_THROWS_WITH_AS(view(x, {3, k62, -1}),
                         "view: shape [3, 4611686018427387904, -1] is too large (overflows int64)",
                         Error);
    CHECK_THROWS_WITH_AS(reshape(zeros({0}), {0, k32, k32}),
                         "reshape: shape [0, 4294967296, 4294967296] is too large (its element "
                         "count or strides overflow int64)",
                         Error);
    CHECK_THROWS_WITH_AS(x.as_strided({2}, {k62}, 0),
                         "Tensor: view (shape [2], strides [4611686018427387904], offset 0) "
                         "reaches past int64",
                         Error);
    CHECK(reshape(zeros({0}), {0, k32}).shape() == Shape{0, k32});
}

TEST_CASE("reductions and elementwise values") {
    Tensor x = from_vector<double>({1, 5, 2, 8, 3, 0}, {2, 3});
    auto [v, i] = max(x, 1);
    CHECK(v.data<double>()[1] == 8);
    CHECK(i.data<int64_t>()[1] == 0);
    CHECK(argmin(x).item() == 5);
    CHECK(sum(x).item() == 19);
    CHECK(var(x, {1}, false).data<double>()[0] == doctest::Approx(26.0 / 9.0));
    double lse = 0;
    for (double v : {1, 5, 2, 8, 3, 0}) lse += std::exp(v - 8);
    CHECK(logsumexp(x, {0, 1}).item() == doctest::Approx(8 + std::log(lse)));
    Tensor nan_row = from_vector<double>({1, NAN, 3});
    CHECK(std::isnan(max(nan_row).item()));
    CHECK(argmax(nan_row).item() == 1);
    CHECK(all(gt(x, -1.0)).item() == 1);
    CHECK(any(gt(x, 7.0), {1}).data<bool>()[0] == false);
    CHECK(cumsum(x, 1).data<double>()[2] == 8);
    Tensor oh = one_hot(from_vector<int64_t>({2, 0}), 3);
    CHECK(oh.data<int64_t>()[2] == 1);
    CHECK(oh.data<int64_t>()[3] == 1);
}

TEST_CASE("large tensors take the parallel paths and agree with small-chunk math") {
    Generator g(11);
    Tensor x = randn({1000, 300}, DType::f64, Device::cpu(), g);
    Tensor rows = sum(x, {1});
    double total = 0;
    for (int64_t i = 0; i < 1000; ++i) total += rows.data<double>()[i];
    CHECK(sum(x).item() == doctest::Approx(total).epsilon(1e-12));
    Tensor y = exp(x);
    CHECK(y.data<double>()[123456] == doctest::Approx(std::exp(x.data<double>()[123456])));
    Tensor sm = softmax(x, 0);
    CHECK(sum(sm, {0}).data<double>()[17] == doctest::Approx(1.0));
}
