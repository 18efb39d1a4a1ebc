// The core's patterns that every later layer copies: the typed kernel list (lookup, a
// missing kernel's error naming the op), gradients computed only where needed and tensors
// saved only where read (Note [Gradients only where needed]), and the checks on grad() and
// backward(gradient).
#include <doctest/doctest.h>

#include <type_traits>

#include "autograd/node.h"
#include "marrow.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/dispatch.h"

using namespace marrow;

namespace {

// Counts the GEMMs the CPU runs, by putting a counting kernel in the table.
int g_gemms = 0;
void counting_gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta) {
    ++g_gemms;
    cpu::gemm(a, b, c, alpha, beta);
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
