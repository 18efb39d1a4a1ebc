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
    // Edges of both micro-kernels (6 x 16 and 12 x 32), K slices (KC = 512), MC = 72 / 144, NC.
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

TEST_CASE("GEMM split across threads, with the shared operand packed once") {
    if (!test::cpu_isa_available()) return;
    // Above the 2^26 multiply-adds from which a product runs on all threads: split by columns
    // (N >= M, a shared) and by rows (b shared), ragged edges, both K slices.
    for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{145, 1061, 520}, {1061, 145, 520}})
        for (bool t : {false, true}) check_mm<float>(m, n, k, t, t, DType::f32);
    // Skinny products read in place: split by columns (N = 64), by rows (N = 63).
    check_mm<float>(600, 64, 2000, false, false, DType::f32);
    check_mm<float>(610, 63, 1800, false, false, DType::f32);
}

TEST_CASE("batched GEMM with an operand broadcast over the batch (packed once)") {
    if (!test::cpu_isa_available()) return;
    // (shape of the broadcast operand's product, transposed?, batch, big enough for threads)
    struct Case {
        int64_t m, n, k, batch;
        bool broadcast_a, transposed;
    };
    for (Case cs : {Case{37, 50, 300, 5, true, true}, Case{37, 50, 300, 5, false, true},
                    Case{20, 20, 20, 3, true, true}, Case{130, 1040, 500, 2, false, false},
                    Case{1040, 130, 500, 2, true, false}}) {
        CAPTURE(cs.m);
        CAPTURE(cs.n);
        CAPTURE(cs.broadcast_a);
        Generator g(uint64_t(cs.m + cs.n));
        auto operand = [&](int64_t rows, int64_t cols, bool broadcast) {
            Shape s = cs.transposed ? Shape{cols, rows} : Shape{rows, cols};
            Tensor t = broadcast ? randn(s, DType::f32, Device::cpu(), g)
                                 : randn({cs.batch, s[0], s[1]}, DType::f32, Device::cpu(), g);
            if (cs.transposed) t = transpose(t, -2, -1);
            return broadcast ? expand(t, {cs.batch, rows, cols}) : t;
        };
        Tensor a = operand(cs.m, cs.k, cs.broadcast_a);
        Tensor b = operand(cs.k, cs.n, !cs.broadcast_a);
        REQUIRE((cs.broadcast_a ? a : b).stride(0) == 0);
        Tensor c = op::bmm(a, b);
        for (int64_t i = 0; i < cs.batch; ++i) {
            CAPTURE(i);
            Tensor ref = zeros({cs.m, cs.n});
            cpu::gemm_reference<float>(cs.m, cs.n, cs.k, a.data<float>() + i * a.stride(0),
                                       a.stride(1), a.stride(2),
                                       b.data<float>() + i * b.stride(0), b.stride(1), b.stride(2),
                                       ref.data<float>(), cs.n, 1, 1.0, 0.0);
            test::Comparison cmp =
                test::compare(squeeze(narrow(c, 0, i, 1), 0), ref,
                              test::tolerance(test::TolClass::matmul_deep, DType::f32));
            INFO(cmp.detail);
            CHECK(cmp.ok);
        }
    }
}
