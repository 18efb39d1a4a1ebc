// The blocked GEMM against the readable triple loop, across block edges (MR, NR, KC, MC),
// transposed and strided operands, alpha/beta, batches, float32 and float64.
#include <doctest/doctest.h>

#include "marrow.h"
#include "tensor/cpu/gemm_reference.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/linalg.h"
#include "tests/compare.h"
#include "tests/cpu_isa.h"

using namespace marrow;

namespace {

template <typename T>
void check_mm(int64_t m, int64_t n, int64_t k, bool ta, bool tb, DType dtype) {
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    CAPTURE(ta);
    CAPTURE(tb);
    Generator g(uint64_t(m * 131 + n * 7 + k));
    Tensor a = randn(ta ? Shape{k, m} : Shape{m, k}, dtype, Device::cpu(), g);
    Tensor b = randn(tb ? Shape{n, k} : Shape{k, n}, dtype, Device::cpu(), g);
    if (ta) a = transpose(a, 0, 1);
    if (tb) b = transpose(b, 0, 1);
    Tensor bias = randn({m, n}, dtype, Device::cpu(), g);
    Tensor ours = op::addmm(bias, a, b, 0.5, 1.5);
    Tensor ref = op::clone(bias);
    cpu::gemm_reference<T>(m, n, k, a.data<T>(), a.stride(0), a.stride(1), b.data<T>(), b.stride(0),
                           b.stride(1), ref.data<T>(), n, 1, 1.5, 0.5);
    test::Comparison c =
        test::compare(ours, ref, test::tolerance(test::TolClass::matmul_deep, dtype));
    INFO(c.detail);
    CHECK(c.ok);
}

}  // namespace

TEST_CASE("blocked GEMM matches the reference across block edges") {
    if (!test::cpu_isa_available()) return;
    // Edges of both micro-kernels (6 x 16 and 12 x 32), KC = 256, MC = 72 / 144, NC.
    for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1},
                           {7, 13, 5},
                           {6, 16, 256},
                           {12, 32, 257},
                           {13, 33, 31},
                           {31, 7, 33},
                           {97, 33, 300},
                           {145, 97, 513},
                           {200, 70, 520},
                           {5, 3100, 9}}) {
        for (bool ta : {false, true})
            for (bool tb : {false, true}) {
                check_mm<float>(m, n, k, ta, tb, DType::f32);
                check_mm<double>(m, n, k, ta, tb, DType::f64);
            }
    }
}

TEST_CASE("batched GEMM and K = 0") {
    if (!test::cpu_isa_available()) return;
    Generator g(5);
    Tensor a = randn({40, 9, 11}, DType::f32, Device::cpu(), g);
    Tensor b = randn({40, 11, 7}, DType::f32, Device::cpu(), g);
    Tensor c = op::bmm(a, b);
    for (int64_t i : {0, 17, 39}) {
        CAPTURE(i);
        Tensor ai = op::contiguous(squeeze(narrow(a, 0, i, 1), 0));
        Tensor bi = op::contiguous(squeeze(narrow(b, 0, i, 1), 0));
        Tensor ref = zeros({9, 7});
        cpu::gemm_reference<float>(9, 7, 11, ai.data<float>(), 11, 1, bi.data<float>(), 7, 1,
                                   ref.data<float>(), 7, 1, 1.0, 0.0);
        test::Comparison cmp = test::compare(squeeze(narrow(c, 0, i, 1), 0), ref,
                                             test::tolerance(test::TolClass::matmul, DType::f32));
        INFO(cmp.detail);
        CHECK(cmp.ok);
    }
    Tensor empty_k = op::mm(zeros({3, 0}), zeros({0, 4}));
    CHECK(sum(abs(empty_k)).item() == 0);
}
