// scaled_dot_product_attention beyond the registry's random cases: the fused CPU kernels
// (tensor/cpu/attention.cpp) against the readable reference loops (attention_reference.h) at
// odd sizes (L, S past the 48-row tiles and 512-key blocks, E not a multiple of 16, L != S,
// E != Ev) with bool and float masks, causal and dropout, forward and every gradient, float32
// and float64 (ctest reruns it per ISA); rows with every key masked (NaN, as PyTorch's math
// path); argument errors; and the CUDA kernels against the CPU (suite "cuda": the simulator).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "autograd/ops.h"
#include "tensor/cpu/attention_reference.h"
#include "tensor/ops/attention.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

void check_close(const Tensor& ours, const Tensor& ref, TolClass tol, const std::string& what) {
    Comparison cmp =
        compare(to(ours, Device::cpu()), to(ref, Device::cpu()), tolerance(tol, ours.dtype()));
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

struct Config {
    const char* name;
    int64_t batch, L, S, E, Ev;
    int mask;  // 0 none, 1 bool (L, S), 2 float (batch, L, S)
    bool causal;
    double dropout;
};

// The fused kernels (through the entry point) against the reference loops, forward and all
// gradients (dmask when the mask is float).
template <typename T>
void check_against_reference(const Config& c) {
    CAPTURE(c.name);
    DType dt = dtype_v<T>;
    Generator gen(7);
    Tensor q = randn({c.batch, c.L, c.E}, dt, Device::cpu(), gen);
    Tensor k = randn({c.batch, c.S, c.E}, dt, Device::cpu(), gen);
    Tensor v = randn({c.batch, c.S, c.Ev}, dt, Device::cpu(), gen);
    Tensor g = randn({c.batch, c.L, c.Ev}, dt, Device::cpu(), gen);
    std::optional<Tensor> mask;
    if (c.mask == 1) mask = gt(randn({c.L, c.S}, dt, Device::cpu(), gen), -1.0);
    if (c.mask == 2) mask = randn({c.batch, c.L, c.S}, dt, Device::cpu(), gen);
    op::AttentionPlan plan =
        op::attention_plan(q, k, v, mask, {c.dropout, c.causal, std::nullopt, 99, 5, std::nullopt});
    op::AttentionResult r = op::attention(plan, q, k, v);
    op::AttentionGrads d =
        op::attention_backward(plan, q, k, v, r.out, r.lse, g, true, true, true, c.mask == 2);

    const AttentionParams& p = plan.params;
    Tensor out = empty({c.batch, c.L, c.Ev}, dt), lse = empty({c.batch, c.L}, dt);
    Tensor dq = empty(q.shape(), dt), dk = empty(k.shape(), dt), dv = empty(v.shape(), dt);
    Tensor dm = empty({c.batch, c.L, c.S}, dt);
    auto run = [&]<typename M>(const M* m) {
        cpu::reference::attention_forward<T, M>(p, q.data<T>(), k.data<T>(), v.data<T>(), m,
                                                out.data<T>(), lse.data<T>());
        cpu::reference::attention_backward<T, M>(p, q.data<T>(), k.data<T>(), v.data<T>(), m,
                                                 out.data<T>(), g.data<T>(), dq.data<T>(),
                                                 dk.data<T>(), dv.data<T>(), dm.data<T>());
    };
    if (c.mask == 1)
        run(mask->data<bool>());
    else if (c.mask == 2)
        run(mask->data<T>());
    else
        run(static_cast<const bool*>(nullptr));
    check_close(r.out, out, TolClass::matmul_deep, "out");
    check_close(*d.dq, dq, TolClass::matmul_deep, "dq");
    check_close(*d.dk, dk, TolClass::matmul_deep, "dk");
    check_close(*d.dv, dv, TolClass::matmul_deep, "dv");
    if (c.mask == 2) check_close(*d.dmask, dm, TolClass::matmul_deep, "dmask");
}

const Config kConfigs[] = {
    {"plain, one tile", 2, 7, 9, 5, 3, 0, false, 0},
    {"odd sizes past the tiles", 3, 101, 77, 20, 9, 0, false, 0},
    {"keys past one 512-block", 1, 50, 1031, 17, 24, 0, false, 0},
    {"bool mask", 2, 53, 61, 16, 16, 1, false, 0},
    {"float mask", 2, 49, 40, 12, 7, 2, false, 0},
    {"causal, L < S", 2, 97, 130, 8, 8, 0, true, 0},
    {"causal, L > S", 1, 130, 60, 8, 5, 0, true, 0},
    {"dropout", 2, 51, 45, 8, 6, 0, false, 0.25},
    {"dropout, mask, one row", 1, 1, 33, 4, 4, 1, false, 0.5},
};

}  // namespace

TEST_CASE("attention: the fused CPU kernels match the reference loops (f32 and f64)") {
    for (const Config& c : kConfigs) {
        check_against_reference<float>(c);
        check_against_reference<double>(c);
    }
}

TEST_CASE("attention: a row with every key masked is NaN, its gradients too; other rows finite") {
    Generator gen(3);
    Tensor q = randn({1, 4, 8}, DType::f32, Device::cpu(), gen).requires_grad_();
    Tensor k = randn({1, 6, 8}, DType::f32, Device::cpu(), gen).requires_grad_();
    Tensor v = randn({1, 6, 5}, DType::f32, Device::cpu(), gen).requires_grad_();
    std::vector<uint8_t> bits(24, 1);
    for (int j = 0; j < 6; ++j) bits[size_t(2 * 6 + j)] = 0;  // row 2 sees nothing
    Tensor mask = ne(from_vector(bits, {4, 6}), scalar_tensor(0, DType::u8));
    Tensor out = scaled_dot_product_attention(q, k, v, mask);
    Tensor nan_rows = isnan(out);
    for (int64_t i = 0; i < 4; ++i)
        for (int64_t e = 0; e < 5; ++e) CHECK(nan_rows.data<bool>()[i * 5 + e] == (i == 2));
    sum(out).backward();
    CHECK(all(isnan(narrow(q.grad(), 1, 2, 1))).item() != 0);
    CHECK(all(isfinite(narrow(q.grad(), 1, 0, 2))).item() != 0);
}

TEST_CASE("attention: dropout draws from the generator (same seed, same output), p=1 is zeros") {
    Generator gen(5);
    Tensor q = randn({2, 3, 9, 4}, DType::f32, Device::cpu(), gen);
    Tensor k = randn({2, 3, 9, 4}, DType::f32, Device::cpu(), gen);
    Tensor v = randn({2, 3, 9, 4}, DType::f32, Device::cpu(), gen);
    Generator g1(11), g2(11);
    Tensor a = scaled_dot_product_attention(q, k, v, std::nullopt, 0.4, false, std::nullopt, g1);
    Tensor b = scaled_dot_product_attention(q, k, v, std::nullopt, 0.4, false, std::nullopt, g2);
    CHECK(equal(a, b));
    CHECK(g1.state().offset == uint64_t((2 * 3 * 9 * 9 + 3) / 4));
    Tensor c = scaled_dot_product_attention(q, k, v, std::nullopt, 0.4, false, std::nullopt, g1);
    CHECK_FALSE(equal(a, c));
    Tensor z = scaled_dot_product_attention(q, k, v, std::nullopt, 1.0, false, std::nullopt, g1);
    CHECK(equal(z, zeros_like(z)));
}

TEST_CASE("attention: broadcast masks of several layouts read the right entries") {
    Generator gen(9);
    Tensor q = randn({2, 3, 5, 4}, DType::f64, Device::cpu(), gen);
    Tensor k = randn({2, 3, 6, 4}, DType::f64, Device::cpu(), gen);
    Tensor v = randn({2, 3, 6, 2}, DType::f64, Device::cpu(), gen);
    for (Shape s : {Shape{6}, Shape{2, 1, 1, 6}, Shape{1, 3, 5, 6}, Shape{2, 1, 5, 6},
                    Shape{2, 3, 5, 6}, Shape{3, 1, 6}}) {
        CAPTURE(s);
        Tensor m = randn(s, DType::f64, Device::cpu(), gen);
        Tensor full = contiguous(expand(m, {2, 3, 5, 6}));
        check_close(scaled_dot_product_attention(q, k, v, m),
                    scaled_dot_product_attention(q, k, v, full), TolClass::elementwise, "out");
    }
    // a transposed mask view
    Tensor mt = transpose(randn({6, 5}, DType::f64, Device::cpu(), gen), 0, 1);
    check_close(scaled_dot_product_attention(q, k, v, mt),
                scaled_dot_product_attention(q, k, v, contiguous(mt)), TolClass::elementwise,
                "out");
}

TEST_CASE("attention: argument errors name the op and the shapes") {
    Tensor q = zeros({2, 5, 4}), k = zeros({2, 6, 4}), v = zeros({2, 6, 3});
    auto throws_with = [](auto fn, const char* text) {
        try {
            fn();
            FAIL("no error, expected one containing: " << text);
        } catch (const Error& e) {
            INFO(e.what());
            CHECK(std::string(e.what()).find(text) != std::string::npos);
            CHECK(std::string(e.what()).find("scaled_dot_product_attention") != std::string::npos);
        }
    };
    throws_with([&] { scaled_dot_product_attention(q, zeros({2, 6, 3}), v); }, "[2, 6, 3]");
    throws_with([&] { scaled_dot_product_attention(q, k, zeros({2, 7, 3})); }, "same length");
    throws_with([&] { scaled_dot_product_attention(q, k, to(v, DType::f64)); }, "same dtype");
    throws_with([&] { scaled_dot_product_attention(zeros({5}), k, v); }, "at least 2 dims");
    throws_with(
        [&] {
            scaled_dot_product_attention(q, zeros({3, 6, 4}), zeros({3, 6, 3}));
        },
        "[2]");
    throws_with([&] { scaled_dot_product_attention(q, k, v, zeros({5, 7})); }, "[5, 7]");
    throws_with(
        [&] {
            scaled_dot_product_attention(q, k, v, zeros({5, 6}, DType::i64));
        },
        "bool or the query's dtype");
    throws_with(
        [&] {
            scaled_dot_product_attention(q, k, v, zeros({5, 6}), 0, true);
        },
        "is_causal");
    throws_with([&] { scaled_dot_product_attention(q, k, v, std::nullopt, 1.5); }, "dropout_p");
}

TEST_CASE("attention: no keys gives zeros, as PyTorch's matmuls") {
    Tensor out = scaled_dot_product_attention(zeros({2, 3, 4}), zeros({2, 0, 4}), zeros({2, 0, 5}));
    CHECK(out.shape() == Shape{2, 3, 5});
    CHECK(equal(out, zeros({2, 3, 5})));
}

TEST_SUITE("cuda") {
    TEST_CASE("attention on CUDA: masked rows, dropout and every gradient match the CPU") {
        for (const Config& c : kConfigs) {
            if (c.S > 200) continue;  // the simulator is slow
            CAPTURE(c.name);
            Generator gen(21);
            Tensor q = randn({c.batch, c.L, c.E}, DType::f32, Device::cpu(), gen);
            Tensor k = randn({c.batch, c.S, c.E}, DType::f32, Device::cpu(), gen);
            Tensor v = randn({c.batch, c.S, c.Ev}, DType::f32, Device::cpu(), gen);
            Tensor g = randn({c.batch, c.L, c.Ev}, DType::f32, Device::cpu(), gen);
            std::optional<Tensor> mask;
            if (c.mask == 1) mask = gt(randn({c.L, c.S}, DType::f32, Device::cpu(), gen), 0.5);
            if (c.mask == 2) mask = randn({c.batch, c.L, c.S}, DType::f32, Device::cpu(), gen);
            std::vector<Tensor> outs, grads;
            for (Device dev : {Device::cpu(), Device::cuda()}) {
                Tensor qd = to(q, dev).requires_grad_(), kd = to(k, dev).requires_grad_(),
                       vd = to(v, dev).requires_grad_();
                std::optional<Tensor> md;
                if (mask) md = to(*mask, dev);
                if (md && c.mask == 2) md->requires_grad_();
                Generator dg(77);
                Tensor o = scaled_dot_product_attention(qd, kd, vd, md, c.dropout, c.causal,
                                                        std::nullopt, dg);
                o.backward(to(g, dev));
                outs.push_back(o);
                grads.push_back(qd.grad());
                grads.push_back(kd.grad());
                grads.push_back(vd.grad());
                if (c.mask == 2) grads.push_back(md->grad());
            }
            check_close(outs[1], outs[0], TolClass::matmul_deep, "out");
            size_t n = grads.size() / 2;
            for (size_t i = 0; i < n; ++i)
                check_close(grads[n + i], grads[i], TolClass::matmul_deep,
                            fmt::format("gradient {}", i));
        }
    }
}
