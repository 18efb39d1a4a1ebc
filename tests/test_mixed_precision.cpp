// Mixed precision (Note [Mixed precision], tensor/autocast.h): the bf16 / f16 GEMM against a
// float64 GEMM of the rounded operands (every shape edge, transposed, strided, batched,
// broadcast), the AVX-512 BF16 path against the fallback, the autocast scope, gradients under
// autocast against the composed reference, conv2d under autocast, the golden against
// PyTorch's CPU autocast, and CPU/CUDA parity on the simulator (suite "cuda").
#include <doctest/doctest.h>

#include <thread>

#include "autograd/autocast.h"
#include "marrow.h"
#include "tensor/cpu/gemm_bf16.h"
#include "tensor/cpu/gemm_reference.h"
#include "tensor/ops/conv.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/linalg.h"
#include "tests/compare.h"
#include "tests/cpu_isa.h"

using namespace marrow;
using autograd::AutocastGuard;

namespace {

constexpr GemmPrecision kLow[] = {GemmPrecision::bf16, GemmPrecision::f16};

// float64 reference of alpha * round(a) @ round(b) + beta * bias, a: (M, K), b: (K, N).
Tensor reference(const Tensor& bias, const Tensor& a, const Tensor& b, double beta, double alpha,
                 GemmPrecision p) {
    Tensor ar = op::contiguous(op::to_dtype(op::round_operand(a, p), DType::f64));
    Tensor br = op::contiguous(op::to_dtype(op::round_operand(b, p), DType::f64));
    Tensor ref = op::to_dtype(bias, DType::f64);
    int64_t M = a.size(0), K = a.size(1), N = b.size(1);
    cpu::gemm_reference<double>(M, N, K, ar.data<double>(), K, 1, br.data<double>(), N, 1,
                                ref.data<double>(), N, 1, alpha, beta);
    return op::to_dtype(ref, DType::f32);
}

void check(const Tensor& ours, const Tensor& ref,
           test::TolClass tol = test::TolClass::matmul_rounded) {
    test::Comparison c = test::compare(ours, ref, test::tolerance(tol, DType::f32));
    INFO(c.detail);
    CHECK(c.ok);
}

Tensor matrix(const Tensor& batch, int64_t i) { return squeeze(slice(batch, 0, i, i + 1), 0); }

// a: (m, k) or its transpose's view; b alike.
std::pair<Tensor, Tensor> operands(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
    Generator g(uint64_t(m * 131 + n * 7 + k));
    Tensor a = randn(ta ? Shape{k, m} : Shape{m, k}, DType::f32, Device::cpu(), g);
    Tensor b = randn(tb ? Shape{n, k} : Shape{k, n}, DType::f32, Device::cpu(), g);
    return {ta ? transpose(a, 0, 1) : a, tb ? transpose(b, 0, 1) : b};
}

}  // namespace

TEST_CASE("bf16 / f16 GEMM matches a float64 GEMM of the rounded operands") {
    if (!test::cpu_isa_available()) return;
    std::string path = cpu::gemm_bf16_native() ? "AVX-512 BF16" : "fallback";
    MESSAGE("bf16 path: " << path);
    // Micro-tile edges (12 x 32 and the f32 kernels'), odd K (a padded pair), K slices
    // (KC = 768 bf16, 512 f32: 513, 1101 = 552 + 549 with an odd tail), a long thin product.
    // Copies of the tuple: clang 14 cannot capture structured bindings in CAPTURE's lambda.
    for (auto shape : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1},
                       {7, 13, 5},
                       {12, 32, 2},
                       {12, 32, 257},
                       {13, 33, 31},
                       {31, 7, 33},
                       {97, 65, 300},
                       {145, 97, 513},
                       {200, 70, 1101},
                       {5, 700, 9}}) {
        int64_t m = std::get<0>(shape), n = std::get<1>(shape), k = std::get<2>(shape);
        for (bool ta : {false, true})
            for (bool tb : {false, true})
                for (GemmPrecision p : kLow) {
                    CAPTURE(m);
                    CAPTURE(n);
                    CAPTURE(k);
                    CAPTURE(ta);
                    CAPTURE(tb);
                    CAPTURE(gemm_precision_name(p));
                    auto [a, b] = operands(m, n, k, ta, tb);
                    Tensor bias = randn({m, n});
                    check(op::addmm(bias, a, b, 0.5, 1.5, p), reference(bias, a, b, 0.5, 1.5, p));
                    check(op::mm(a, b, p), reference(zeros({m, n}), a, b, 0.0, 1.0, p));
                }
    }
}

TEST_CASE("bf16 GEMM: strided, batched and broadcast operands") {
    if (!test::cpu_isa_available()) return;
    for (GemmPrecision p : kLow) {
        CAPTURE(gemm_precision_name(p));
        // Neither stride is 1: every element gathered (the packing's generic path).
        Tensor a = slice(slice(randn({60, 90}), 0, 0, 60, 2), 1, 0, 90, 3);  // (30, 30)
        Tensor b = slice(randn({61, 80}), 0, 0, 61, 2);                      // (31, 80)
        b = slice(b, 0, 0, 30);
        check(op::mm(a, b, p), reference(zeros({30, 80}), a, b, 0, 1, p));
        // Batches: split per matrix (3 big ones) or one matrix per thread (40 small ones),
        // and an operand broadcast over the batch (stride 0, packed once).
        for (auto shape :
             {std::tuple<int64_t, int64_t, int64_t, int64_t>{3, 70, 90, 200}, {40, 13, 17, 33}}) {
            int64_t batch = std::get<0>(shape), m = std::get<1>(shape), n = std::get<2>(shape),
                    k = std::get<3>(shape);
            Tensor x = randn({batch, m, k}), w = randn({1, k, n});
            Tensor wb = expand(w, {batch, k, n});
            Tensor ours = op::bmm(x, wb, p);
            for (int64_t i = 0; i < batch; ++i)
                check(matrix(ours, i),
                      reference(zeros({m, n}), matrix(x, i), matrix(w, 0), 0, 1, p));
        }
    }
}

TEST_CASE("bf16 GEMM: the AVX-512 BF16 kernel agrees with the fallback, and with itself") {
    if (!test::cpu_isa_available()) return;
    if (!cpu::gemm_bf16_native()) {
        MESSAGE("skipped: no AVX-512 BF16 (or MARROW_CPU_ISA asks for less)");
        return;
    }
    for (auto shape : {std::tuple<int64_t, int64_t, int64_t>{145, 97, 513}, {64, 384, 384}}) {
        int64_t m = std::get<0>(shape), n = std::get<1>(shape), k = std::get<2>(shape);
        auto [a, b] = operands(m, n, k, false, false);
        Tensor native = op::mm(a, b, GemmPrecision::bf16);
        cpu::set_gemm_bf16_native_allowed(false);
        Tensor fallback = op::mm(a, b, GemmPrecision::bf16);
        cpu::set_gemm_bf16_native_allowed(true);
        check(native, fallback);
        // Every packing layout gives the same pairs, so transposed operands give the same bits.
        Tensor at = transpose(op::contiguous(transpose(a, 0, 1)), 0, 1);
        Tensor bt = transpose(op::contiguous(transpose(b, 0, 1)), 0, 1);
        check(op::mm(at, bt, GemmPrecision::bf16), native, test::TolClass::exact);
    }
}

TEST_CASE("autocast scopes nest, restore, and are per thread") {
    CHECK(!autocast_dtype());
    {
        AutocastGuard outer(DType::bf16);
        CHECK(autocast_dtype() == DType::bf16);
        {
            AutocastGuard inner(DType::f16);
            CHECK(autocast_dtype() == DType::f16);
            {
                AutocastGuard off(std::nullopt);
                CHECK(!autocast_dtype());
                CHECK(gemm_precision(DType::f32) == GemmPrecision::full);
            }
            CHECK(gemm_precision(DType::f32) == GemmPrecision::f16);
        }
        CHECK(autocast_dtype() == DType::bf16);
        CHECK(gemm_precision(DType::f32) == GemmPrecision::bf16);
        CHECK(gemm_precision(DType::f64) == GemmPrecision::full);  // f64 is never rounded
        std::optional<DType> other_thread = DType::f32;
        std::thread([&] { other_thread = autocast_dtype(); }).join();
        CHECK(!other_thread);
        try {
            AutocastGuard g(DType::f16);
            throw Error("boom");
        } catch (const Error&) {
        }
        CHECK(autocast_dtype() == DType::bf16);  // restored by unwinding
    }
    CHECK(!autocast_dtype());
    CHECK_THROWS_WITH_AS(AutocastGuard{DType::f32},
                         doctest::Contains("autocast: expected bfloat16 or float16"), Error);
}

TEST_CASE("the GEMM family rounds under autocast; float64 and other ops do not") {
    Tensor a = randn({33, 70}), b = randn({70, 20});
    Tensor full = mm(a, b), bf = op::mm(a, b, GemmPrecision::bf16);
    AutocastGuard guard(DType::bf16);
    check(mm(a, b), bf, test::TolClass::exact);
    check(matmul(a, b), bf, test::TolClass::exact);
    check(linear(a, transpose(b, 0, 1)), bf, test::TolClass::exact);
    check(op::mm(a, b), bf, test::TolClass::exact);  // the raw entry point too
    CHECK(max(abs(mm(a, b) - full)).item() > 0);
    Tensor a64 = a.to(DType::f64), b64 = b.to(DType::f64);
    AutocastGuard off(std::nullopt);
    Tensor full64 = mm(a64, b64);
    AutocastGuard on(DType::bf16);
    CHECK(max(abs(mm(a64, b64) - full64)).item() == 0);
}

TEST_CASE("gradients under autocast equal the composed reference with rounded operands") {
    for (DType dt : {DType::bf16, DType::f16}) {
        GemmPrecision p = dt == DType::bf16 ? GemmPrecision::bf16 : GemmPrecision::f16;
        CAPTURE(gemm_precision_name(p));
        Tensor x = randn({2, 9, 40}).requires_grad_(), w = randn({24, 40}).requires_grad_();
        Tensor bias = randn({24}).requires_grad_(), r = randn({2, 9, 24});
        Tensor y = [&] {
            AutocastGuard guard(dt);
            return linear(x, w, bias);
        }();
        sum(y * r).backward();  // outside the scope: the nodes keep their precision
        Tensor x2 = reshape(x.detach(), {18, 40}), r2 = reshape(r, {18, 24});
        Tensor wt = transpose(w.detach(), 0, 1);
        check(reshape(y.detach(), {18, 24}),
              reference(expand(bias.detach(), {18, 24}), x2, wt, 1, 1, p));
        check(reshape(x.grad(), {18, 40}), reference(zeros({18, 40}), r2, w.detach(), 0, 1, p));
        check(w.grad(), reference(zeros({24, 40}), transpose(r2, 0, 1), x2, 0, 1, p));
        check(bias.grad(), sum(r2, {0}), test::TolClass::reduction);
    }
}

TEST_CASE("conv2d under autocast is the float32 convolution of rounded operands") {
    Tensor x = randn({2, 16, 9, 9}).requires_grad_(), w = randn({8, 16, 3, 3}).requires_grad_();
    Tensor g = randn({2, 8, 9, 9});
    Conv2dParams params{.padding = {1, 1}};
    Tensor y = [&] {
        AutocastGuard guard(DType::bf16);
        return conv2d(x, w, std::nullopt, params);
    }();
    y.backward(g);
    auto rnd = [](const Tensor& t) { return op::round_operand(t.detach(), GemmPrecision::bf16); };
    check(y.detach(), op::conv2d(rnd(x), rnd(w), std::nullopt, params), test::TolClass::exact);
    check(x.grad(), op::conv2d_backward_input(rnd(g), rnd(w), x.shape(), params),
          test::TolClass::exact);
    check(w.grad(), op::conv2d_backward_weight(rnd(x), rnd(g), w.shape(), params),
          test::TolClass::exact);
}

// tests/golden/gen/gen_autocast.py: torch.autocast("cpu", dtype=torch.bfloat16) around
// F.linear, loss = sum(y.float() * r) with r exactly representable in bf16 (so the incoming
// gradient is the same on both sides), backward outside the scope.
TEST_CASE("autocast linear matches PyTorch's CPU autocast (bf16 outputs rounded there)") {
    for (const char* name : {"linear2d", "linear3d"}) {
        CAPTURE(name);
        auto t = [&](const char* key) {
            return test::golden_tensor("autocast", std::string(name) + "/" + key,
                                       "gen_autocast.py");
        };
        Tensor x = op::clone(t("x")).requires_grad_(), w = op::clone(t("weight")).requires_grad_();
        Tensor b = op::clone(t("bias")).requires_grad_();
        Tensor y = [&] {
            AutocastGuard guard(DType::bf16);
            return linear(x, w, b);
        }();
        sum(y * t("r")).backward();
        check(y.detach(), t("y"), test::TolClass::autocast_torch);
        check(x.grad(), t("grad_x"), test::TolClass::autocast_torch);
        check(w.grad(), t("grad_weight"), test::TolClass::autocast_torch);
        check(b.grad(), t("grad_bias"), test::TolClass::autocast_torch);
    }
}

TEST_CASE("bf16 / f16 GEMM: CUDA tensor-core kernel (simulator) matches the CPU" *
          doctest::test_suite("cuda")) {
    // Row-major, transposed a and/or b (the tile loads walk the unit-stride axis), tails in
    // every dimension, a 64^3 exact fit.
    for (auto shape : {std::tuple<int64_t, int64_t, int64_t, bool>{130, 40, 70, false},
                       {130, 72, 72, true},
                       {64, 64, 64, false}}) {
        for (GemmPrecision p : kLow)
            for (bool tb : {false, true}) {
                int64_t m = std::get<0>(shape), n = std::get<1>(shape), k = std::get<2>(shape);
                bool ta = std::get<3>(shape);
                CAPTURE(m);
                CAPTURE(tb);
                CAPTURE(gemm_precision_name(p));
                auto [a, b] = operands(m, n, k, ta, tb);
                Tensor gpu =
                    op::mm(a.to(Device::cuda()), b.to(Device::cuda()), p).to(Device::cpu());
                check(gpu, reference(zeros({m, n}), a, b, 0, 1, p));
                check(gpu, op::mm(a, b, p));
            }
    }
    // Batched; addmm's alpha and beta: 0.5 a b + 2 c.
    Generator gen(11);
    Tensor a = randn({3, 33, 48}, DType::f32, Device::cpu(), gen);
    Tensor b = randn({3, 48, 17}, DType::f32, Device::cpu(), gen);
    Tensor c = randn({33, 17}, DType::f32, Device::cpu(), gen);
    auto cuda = [](const Tensor& t) { return t.to(Device::cuda()); };
    check(op::bmm(cuda(a), cuda(b), GemmPrecision::bf16).to(Device::cpu()),
          op::bmm(a, b, GemmPrecision::bf16));
    Tensor a0 = matrix(a, 0), b0 = matrix(b, 0);
    check(op::addmm(cuda(c), cuda(a0), cuda(b0), 2.0, 0.5, GemmPrecision::bf16).to(Device::cpu()),
          reference(c, a0, b0, 2.0, 0.5, GemmPrecision::bf16));
}
