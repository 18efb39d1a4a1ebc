// The core's patterns that every later layer copies: the typed kernel list (lookup, a
// missing kernel's error naming the op), gradients computed only where needed and tensors
// saved only where read (Note [Gradients only where needed]), and the checks on grad() and
// backward(gradient).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <type_traits>

#include "autograd/node.h"
#include "marrow.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/dispatch.h"

using namespace marrow;

namespace {

// Counts the GEMMs the CPU runs, by putting a counting kernel in the table.
int g_gemms = 0;
void counting_gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta,
                   GemmPrecision precision) {
    ++g_gemms;
    cpu::gemm(a, b, c, alpha, beta, precision);
}
struct CountGemms {
    CountGemms() {
        ensure_backends();
        register_kernel<OpId::gemm>(DeviceType::cpu, counting_gemm);
        g_gemms = 0;
    }
    ~CountGemms() { register_kernel<OpId::gemm>(DeviceType::cpu, cpu::gemm); }
};

Tensor param(const Shape& shape) { return randn(shape, DType::f64).requires_grad_(); }

}  // namespace

TEST_CASE("the kernel list gives each id its signature") {
    static_assert(std::is_same_v<KernelSignature<OpId::softmax_backward>, SoftmaxBackwardKernel>);
    static_assert(std::is_same_v<KernelSignature<OpId::gemm>, GemmKernel>);
    // kernel<OpId::softmax_backward> returns a SoftmaxBackwardKernel*: calling it with the
    // forward's arguments does not compile.
    static_assert(!std::is_invocable_v<KernelSignature<OpId::softmax_backward>*, bool,
                                       const Tensor&, const Tensor&>);
    CHECK(op_name(OpId::index_select) == "index_select");
}

TEST_CASE("a missing kernel names the op the user called, and its kernel") {
    ensure_backends();
    register_any_kernel(OpId::unary, DeviceType::cpu, nullptr);
    Tensor x = randn({4});
    CHECK_THROWS_WITH_AS(gelu(x), "`gelu` has no CPU implementation (kernel `unary`)", Error);
    register_kernel<OpId::unary>(DeviceType::cpu, cpu::unary);
    CHECK(gelu(x).shape() == x.shape());
}

TEST_CASE("mm runs only the GEMMs whose gradients are needed") {
    CountGemms count;
    Tensor x = randn({8, 5}, DType::f64), w = param({3, 5});
    SUBCASE("frozen input (images): dW only") {
        linear(x, w).sum().backward();  // the method form of sum
        CHECK(g_gemms == 2);  // forward + dW
        CHECK(w.has_grad());
    }
    SUBCASE("frozen weight (a probe on a frozen encoder's features): dX only") {
        Tensor xr = param({8, 5}), wf = randn({3, 5}, DType::f64);
        sum(mm(xr, transpose(wf, 0, 1))).backward();
        CHECK(g_gemms == 2);
        CHECK(xr.has_grad());
        CHECK(!wf.has_grad());
    }
    SUBCASE("both need gradients") {
        Tensor xr = param({8, 5});
        sum(addmm(param({3}), xr, transpose(w, 0, 1))).backward();
        CHECK(g_gemms == 3);
    }
    SUBCASE("bmm with a frozen operand") {
        Tensor a = randn({2, 4, 5}, DType::f64), b = param({2, 5, 3});
        sum(bmm(a, b)).backward();
        CHECK(g_gemms == 2);
    }
}

TEST_CASE("ops save only the tensors their backward reads") {
    int64_t before = autograd::saved_tensor_bytes();
    auto saved = [&] { return autograd::saved_tensor_bytes() - before; };
    const int64_t n = 1000, bytes = n * 8;
    Tensor x = param({n});
    {
        Tensor y = exp(x);  // d exp = y: y only
        CHECK(saved() == bytes);
    }
    CHECK(saved() == 0);  // the graph and its saved tensors are gone with y
    {
        Tensor y = neg(x);  // d neg = -1: nothing
        CHECK(saved() == 0);
        Tensor z = gelu(x);  // needs x
        CHECK(saved() == bytes);
    }
    {
        Tensor frozen = randn({n}, DType::f64);
        Tensor y = x * frozen;  // only x's gradient: it reads `frozen`, not x
        CHECK(saved() == bytes);
        Tensor z = mm(reshape(x, {1, n}), reshape(frozen, {n, 1}));  // frozen saved again
        CHECK(saved() == 2 * bytes);
    }
    {
        autograd::NoGradGuard no_grad;
        Tensor y = exp(x) * x;
        CHECK(saved() == 0);
    }
}

TEST_CASE("grad() and backward(gradient) say what is wrong") {
    Tensor w = param({2, 3});
    CHECK(!w.has_grad());
    CHECK_THROWS_WITH_AS(w.grad(), doctest::Contains("has no gradient"), Error);
    Tensor plain = randn({2});
    CHECK_THROWS_WITH_AS(plain.grad(), doctest::Contains("does not require grad"), Error);
    Tensor y = w * 2.0;
    CHECK_THROWS_WITH_AS(y.backward(ones({2, 3}, DType::f32)),
                         doctest::Contains("gradient dtype float32 does not match tensor dtype float64"),
                         Error);
    y.backward(ones({2, 3}, DType::f64));
    CHECK(allclose(w.grad(), full({2, 3}, 2.0, DType::f64)));
}

TEST_CASE("data<T>() reads host memory only") {
    Tensor x = ones({3});
    CHECK(x.data<float>()[2] == 1.0f);
    CHECK_THROWS_WITH_AS(x.data<double>(), doctest::Contains("data<float64>() called on a float32"),
                         Error);
    if (device_count(DeviceType::cuda) == 0) return;
    Tensor d = to(x, Device::cuda());
    CHECK_THROWS_WITH_AS(d.data<float>(), doctest::Contains("is on cuda:0"), Error);
    CHECK(d.data_ptr<float>() != nullptr);  // kernel launchers pass device pointers
}

TEST_CASE("mixed dtypes promote as PyTorch's common cases, or say why not") {
    Tensor x = from_vector<float>({-1.5f, 0.5f, 2.0f});
    x.requires_grad_();
    Tensor y = x * gt(x, 0.0);  // float * bool -> float: relu by hand
    CHECK(y.dtype() == DType::f32);
    CHECK(allclose(y, from_vector<float>({0.0f, 0.5f, 2.0f})));
    sum(y).backward();
    CHECK(allclose(x.grad(), from_vector<float>({0.0f, 1.0f, 1.0f})));

    Tensor i32 = from_vector<int32_t>({1, 2, 3}), i64 = from_vector<int64_t>({10, 20, 30});
    CHECK((i32 + i64).dtype() == DType::i64);
    CHECK((i32 + gt(i32, 1.0)).dtype() == DType::i32);  // int + bool -> int
    // A double operand takes the tensor's dtype (PyTorch would give float32 for an integer
    // tensor times a Python float; marrow keeps index arithmetic integral).
    CHECK((i64 * 2.0).dtype() == DType::i64);
    Tensor f64 = from_vector<double>({1, 2, 3});
    CHECK((f64 + i32).dtype() == DType::f64);
    CHECK_THROWS_WITH_AS(detach(x) + f64,
                         "add: dtype mismatch: float32 (shape [3]) vs float64 (shape [3]); "
                         "floating dtypes are not mixed implicitly: convert one with to(t, dtype)",
                         Error);
    Tensor acc = zeros({3});
    add_(acc, gt(f64, 1.5));  // float += bool: fine in place
    CHECK(allclose(acc, from_vector<float>({0, 1, 1})));
    CHECK_THROWS_WITH_AS(add_(i32, f64), doctest::Contains("cannot be written in place"), Error);
}

TEST_CASE("methods are the free functions") {
    Generator gen(3);
    Tensor x = randn({3, 4}, DType::f64, Device::cpu(), gen);
    CHECK(allclose(x.sum({1}), sum(x, {1})));
    CHECK(allclose(x.mean(), mean(x)));
    CHECK(allclose(x.exp().log(), x));
    CHECK(x.t().shape() == Shape{4, 3});
    CHECK(allclose(x.matmul(x.t()), matmul(x, transpose(x, 0, 1))));
    CHECK(x.to(DType::f32).dtype() == DType::f32);
    CHECK(x.reshape({2, 6}).shape() == Shape{2, 6});
    CHECK(allclose(x.softmax(1).sum({1}), ones({3}, DType::f64)));
    CHECK(x.argmax(1).dtype() == DType::i64);
    Tensor w = x.clone().requires_grad_();
    w.pow(2.0).sum().backward();  // d/dw sum w^2 = 2w: the method records the same graph
    CHECK(allclose(w.grad(), x * 2.0));
}

TEST_CASE("factory options") {
    Tensor z = zeros({2, 3}, {.dtype = DType::f64, .requires_grad = true});
    CHECK(z.dtype() == DType::f64);
    CHECK(z.requires_grad());
    Generator g1(7), g2(7);
    Tensor a = randn({5}, {.generator = &g1});
    Tensor b = randn({5}, DType::f32, Device::cpu(), g2);
    CHECK(allclose(a, b, 0, 0));  // the same stream
    CHECK(randint(0, 5, {4}, TensorOptions{}).dtype() == DType::i64);
    CHECK_THROWS_WITH_AS(zeros({2}, {.dtype = DType::i64, .requires_grad = true}),
                         doctest::Contains("only floating tensors can require gradients"),
                         Error);
}

TEST_CASE("isclose / allclose / isnan / isinf / isfinite follow torch's rules") {
    const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
    Tensor a = from_vector<double>({1.0, 1.0, inf, -inf, nan, 0.0, 1e-9});
    Tensor b = from_vector<double>({1.0 + 1e-6, 1.1, inf, inf, nan, 1e-9, 0.0});
    // |a - b| <= 1e-8 + 1e-5 |b|; inf == inf; -inf != inf; NaN only with equal_nan;
    // 0 vs 1e-9 within atol both ways.
    auto as_vector = [](const Tensor& t) {
        std::vector<int> v;
        Tensor c = to(t, DType::i64);
        for (int64_t i = 0; i < c.numel(); ++i) v.push_back(int(c.data<int64_t>()[i]));
        return v;
    };
    CHECK(as_vector(isclose(a, b)) == std::vector<int>{1, 0, 1, 0, 0, 1, 1});
    CHECK(as_vector(isclose(a, b, 1e-5, 1e-8, true)) == std::vector<int>{1, 0, 1, 0, 1, 1, 1});
    CHECK(as_vector(isnan(a)) == std::vector<int>{0, 0, 0, 0, 1, 0, 0});
    CHECK(as_vector(isinf(a)) == std::vector<int>{0, 0, 1, 1, 0, 0, 0});
    CHECK(as_vector(isfinite(a)) == std::vector<int>{1, 1, 0, 0, 0, 1, 1});
    CHECK(!allclose(a, b));
    CHECK(allclose(a, a, 1e-5, 1e-8, true));
    CHECK(as_vector(isfinite(from_vector<int64_t>({1, 2}))) == std::vector<int>{1, 1});
    CHECK_THROWS_WITH_AS(isclose(a, to(b, DType::f32)), doctest::Contains("dtypes differ"),
                         Error);
}

TEST_CASE("to(device, dtype) converts both") {
    Tensor x = randn({4}, DType::f64).requires_grad_();
    Tensor y = to(x, Device::cpu(), DType::f32);
    CHECK(y.dtype() == DType::f32);
    sum(y).backward();
    CHECK(x.grad().dtype() == DType::f64);
    if (device_count(DeviceType::cuda) == 0) return;
    Tensor d = x.to(Device::cuda(), DType::f32);
    CHECK(d.device() == Device::cuda());
    CHECK(allclose(to(d, Device::cpu()), to(detach(x), DType::f32)));
}
