// scaled_dot_product_attention under autocast (Note [Fused attention] in
// tensor/cpu/attention.cpp, Note [Mixed precision] in tensor/autocast.h): the fused kernels
// against the composed twin (matmul -> softmax -> dropout -> matmul, whose matmuls round their
// operands) run under the same AutocastGuard, bf16 and f16, forward and every gradient, on the
// AVX-512 BF16 micro-kernel and on the rounding fallback (ctest reruns it per ISA); the two
// CPU paths against each other; float64 untouched; the precision kept for backward; CUDA
// (suite "cuda": the simulator) against the CPU under the same precision; a golden from
// PyTorch's CPU autocast of the composition. A timing of the
// ViT shapes is printed, not asserted (MARROW_ATTENTION_TIMING=1).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "autograd/autocast.h"
#include "autograd/ops.h"
#include "tensor/cpu/gemm_bf16.h"
#include "tensor/ops/copy.h"
#include "tests/compare.h"
#include "tests/ops/cases/cases.h"

using namespace marrow;
using namespace marrow::test;
using autograd::AutocastGuard;

namespace {

void check_close(const Tensor& ours, const Tensor& ref, TolClass tol, const std::string& what) {
    Comparison cmp =
        compare(to(ours, Device::cpu()), to(ref, Device::cpu()), tolerance(tol, DType::f32));
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

struct Config {
    const char* name;
    int64_t batch, L, S, E, Ev;
    int mask;  // 0 none, 1 bool (L, S), 2 float (batch, L, S) requiring grad
    bool causal;
    double dropout;
};

const Config kConfigs[] = {
    {"odd sizes past the tiles", 2, 101, 77, 20, 9, 0, false, 0},
    {"bool mask", 2, 53, 61, 16, 16, 1, false, 0},
    {"float mask", 2, 49, 40, 12, 7, 2, false, 0},
    {"causal, L < S", 2, 97, 130, 8, 8, 0, true, 0},
    {"dropout", 2, 51, 45, 8, 6, 0, false, 0.25},
    {"ViT-like head, E = 64", 1, 65, 65, 64, 64, 0, false, 0},
    {"keys past one 512-block", 1, 50, 1031, 17, 24, 0, false, 0},
};

// The forward in the fused kernel's order (one key block, S <= 512): the unnormalized
// exp(S - m) (o Z / (1 - p)) is matmul's operand, divided by l after; under autocast its
// matmuls round exactly the operands the fused kernel rounds.
Tensor flash_order(const Tensor& q, const Tensor& k, const Tensor& v,
                   const std::optional<Tensor>& mask, double p, bool causal, Generator& gen) {
    Tensor scores = cases::attention_scores(q, k, mask, causal, std::nullopt);
    Tensor e = exp(scores - max(scores, -1, true).first);
    Tensor l = sum(e, {-1}, true);
    if (p > 0) e = dropout(e, p, true, gen);
    return matmul(e, v) / l;
}

struct Inputs {
    Tensor q, k, v, g;
    std::optional<Tensor> mask;
};
Inputs make_inputs(const Config& c, DType dt = DType::f32) {
    Generator gen(5);
    Inputs x{randn({c.batch, c.L, c.E}, dt, Device::cpu(), gen),
             randn({c.batch, c.S, c.E}, dt, Device::cpu(), gen),
             randn({c.batch, c.S, c.Ev}, dt, Device::cpu(), gen),
             randn({c.batch, c.L, c.Ev}, dt, Device::cpu(), gen), std::nullopt};
    if (c.mask == 1) x.mask = gt(randn({c.L, c.S}, dt, Device::cpu(), gen), -1.0);
    if (c.mask == 2) x.mask = randn({c.batch, c.L, c.S}, dt, Device::cpu(), gen);
    return x;
}

// out, dq, dk, dv (and dmask) of the fused op (or the twin) under `precision`, on `dev`.
std::vector<Tensor> run(const Config& c, const Inputs& x, std::optional<DType> precision,
                        bool fused, Device dev = Device::cpu()) {
    Tensor q = to(x.q, dev).detach().requires_grad_(), k = to(x.k, dev).detach().requires_grad_(),
           v = to(x.v, dev).detach().requires_grad_();
    std::optional<Tensor> m;
    if (x.mask) m = to(*x.mask, dev).detach();
    if (m && c.mask == 2) m->requires_grad_();
    Tensor o = [&] {
        AutocastGuard guard(precision);
        Generator gen(77);
        return fused
                   ? scaled_dot_product_attention(q, k, v, m, c.dropout, c.causal, std::nullopt,
                                                  gen)
                   : cases::attention_composed(q, k, v, m, c.dropout, c.causal, std::nullopt, &gen);
    }();
    o.backward(to(x.g, dev));  // outside the scope: the recorded precision is replayed
    std::vector<Tensor> r = {o.detach(), q.grad(), k.grad(), v.grad()};
    if (c.mask == 2) r.push_back(m->grad());
    return r;
}

const char* const kNames[] = {"out", "dq", "dk", "dv", "dmask"};

// Restores the bf16 micro-kernel switch on scope exit.
struct NativeBf16 {
    explicit NativeBf16(bool allowed) { cpu::set_gemm_bf16_native_allowed(allowed); }
    ~NativeBf16() { cpu::set_gemm_bf16_native_allowed(true); }
};

}  // namespace

double nmse(const Tensor& ours, const Tensor& ref) {
    return compare(ours, ref, tolerance(TolClass::exact, DType::f32)).nmse;
}

TEST_CASE("attention under autocast matches the composed twin under the same autocast") {
    for (const Config& c : kConfigs) {
        Inputs x = make_inputs(c);
        std::vector<Tensor> full = run(c, x, std::nullopt, true);
        for (DType dt : {DType::bf16, DType::f16}) {
            std::vector<Tensor> twin = run(c, x, dt, false);
            Tensor flash = [&] {
                AutocastGuard guard(dt);
                Generator gen(77);
                return flash_order(x.q, x.k, x.v, x.mask, c.dropout, c.causal, gen);
            }();
            for (bool native : {true, false}) {
                INFO(std::string(c.name));
                CAPTURE(dt);
                CAPTURE(native);
                NativeBf16 allow(native);
                std::vector<Tensor> ours = run(c, x, dt, true);
                for (size_t i = 0; i < ours.size(); ++i)
                    check_close(ours[i], twin[i], TolClass::attention_autocast, kNames[i]);
                // The rounding took place, of the twin's operands: where both round the same
                // values (out against the twin in the kernel's order, dV against the twin)
                // ours is far closer to them than to the float32 result.
                double out_full = nmse(ours[0], full[0]), out_flash = nmse(ours[0], flash);
                double dv_full = nmse(ours[3], full[3]), dv_twin = nmse(ours[3], twin[3]);
                CAPTURE(out_full);
                CAPTURE(out_flash);
                CAPTURE(dv_full);
                CAPTURE(dv_twin);
                if (c.S <= 512)  // one key block: P is relative to the row's max, as the twin's
                    CHECK(out_full > 100 * out_flash);
                CHECK(dv_full > 100 * dv_twin);
            }
        }
    }
}

TEST_CASE("attention under bf16: the AVX-512 BF16 micro-kernel equals the rounding fallback") {
    if (!cpu::gemm_bf16_native()) return;  // one path only on this processor / ISA setting
    for (const Config& c : kConfigs) {
        INFO(std::string(c.name));
        Inputs x = make_inputs(c);
        std::vector<Tensor> native = run(c, x, DType::bf16, true);
        NativeBf16 off(false);
        std::vector<Tensor> fallback = run(c, x, DType::bf16, true);
        for (size_t i = 0; i < native.size(); ++i)  // same roundings, sums in another order
            check_close(native[i], fallback[i], TolClass::attention_autocast, kNames[i]);
    }
}

// Row 2 of 4 sees no key (70 keys: two CUDA key tiles): NaN output and dq row, as the float32
// kernels and the composed twin; the other rows finite.
void check_masked_row(Device dev) {
    Generator gen(3);
    std::vector<uint8_t> bits(4 * 70, 1);
    for (int j = 0; j < 70; ++j) bits[size_t(2 * 70 + j)] = 0;
    Tensor mask = ne(from_vector(bits, {4, 70}), scalar_tensor(0, DType::u8));
    Tensor q0 = randn({1, 4, 16}, DType::f32, Device::cpu(), gen);
    Tensor k0 = randn({1, 70, 16}, DType::f32, Device::cpu(), gen);
    Tensor v0 = randn({1, 70, 8}, DType::f32, Device::cpu(), gen);
    for (bool native : {true, false}) {
        CAPTURE(native);
        NativeBf16 allow(native);
        Tensor q = to(q0, dev).detach().requires_grad_(), k = to(k0, dev).detach().requires_grad_(),
               v = to(v0, dev).detach();
        Tensor out = [&] {
            AutocastGuard guard(DType::bf16);
            return scaled_dot_product_attention(q, k, v, to(mask, dev));
        }();
        Tensor nan_rows = to(isnan(out), Device::cpu());
        for (int64_t i = 0; i < 4; ++i)
            for (int64_t e = 0; e < 8; ++e) CHECK(nan_rows.data<bool>()[i * 8 + e] == (i == 2));
        sum(out).backward();
        Tensor dq = to(q.grad(), Device::cpu());
        CHECK(all(isnan(narrow(dq, 1, 2, 1))).item() != 0);
        CHECK(all(isfinite(narrow(dq, 1, 0, 2))).item() != 0);
    }
}

TEST_CASE("attention under autocast: a row with every key masked is NaN, other rows finite") {
    check_masked_row(Device::cpu());
}

TEST_CASE("attention under autocast: float64 is not rounded") {
    const Config& c = kConfigs[1];
    Inputs x = make_inputs(c, DType::f64);
    std::vector<Tensor> plain = run(c, x, std::nullopt, true);
    std::vector<Tensor> autocast = run(c, x, DType::bf16, true);
    for (size_t i = 0; i < plain.size(); ++i) CHECK(equal(plain[i], autocast[i]));
}

// tests/golden/gen/gen_autocast.py: torch.autocast("cpu", dtype=torch.bfloat16) around the
// composition (matmul, float32 softmax, matmul), g exactly representable in bf16, backward
// outside the scope.
TEST_CASE("attention under autocast matches PyTorch's CPU autocast composition") {
    auto t = [](const char* key) {
        return golden_tensor("autocast", std::string("attention/") + key, "gen_autocast.py");
    };
    Tensor q = op::clone(t("q")).requires_grad_(), k = op::clone(t("k")).requires_grad_(),
           v = op::clone(t("v")).requires_grad_();
    Tensor y = [&] {
        AutocastGuard guard(DType::bf16);
        return scaled_dot_product_attention(q, k, v);
    }();
    y.backward(t("g"));
    check_close(y.detach(), t("out"), TolClass::attention_autocast_torch, "out");
    check_close(q.grad(), t("grad_q"), TolClass::attention_autocast_torch, "dq");
    check_close(k.grad(), t("grad_k"), TolClass::attention_autocast_torch, "dk");
    check_close(v.grad(), t("grad_v"), TolClass::attention_autocast_torch, "dv");
}

TEST_CASE("attention under autocast: the ViT shapes, timed (printed, not asserted)") {
    const char* env = std::getenv("MARROW_ATTENTION_TIMING");
    if (!env || std::string(env) != "1") return;
    using Clock = std::chrono::steady_clock;
    for (Config c : {Config{"ViT-S 8x6x257x64", 48, 257, 257, 64, 64, 0, false, 0},
                     Config{"ViT-B 8x12x197x64", 96, 197, 197, 64, 64, 0, false, 0}}) {
        Inputs x = make_inputs(c);
        for (std::optional<DType> p : {std::optional<DType>{}, std::optional<DType>{DType::bf16}}) {
            double fwd = 1e30, total = 1e30;
            for (int rep = 0; rep < 7; ++rep) {
                Tensor q = x.q.detach().requires_grad_(), k = x.k.detach().requires_grad_(),
                       v = x.v.detach().requires_grad_();
                auto t0 = Clock::now();
                Tensor o = [&] {
                    AutocastGuard guard(p);
                    return scaled_dot_product_attention(q, k, v);
                }();
                auto t1 = Clock::now();
                o.backward(x.g);
                auto t2 = Clock::now();
                fwd = std::min(fwd, std::chrono::duration<double>(t1 - t0).count());
                total = std::min(total, std::chrono::duration<double>(t2 - t0).count());
            }
            const std::string label = std::string(c.name) + (p ? " bf16" : " f32");
            MESSAGE(label, ": forward ", fwd * 1e3, " ms, forward+backward ", total * 1e3,
                    " ms (best of 7)");
        }
    }
}

TEST_SUITE("cuda") {
    TEST_CASE("attention on CUDA under autocast: a row with every key masked is NaN") {
        check_masked_row(Device::cuda());
    }

    TEST_CASE("attention on CUDA under autocast matches the CPU under the same precision") {
        // The registry's configs run on tensor cores (attention_mma.cu); wider heads on the
        // SIMT kernels (forward past 128, backward past 64), which round the same operands.
        std::vector<Config> configs(std::begin(kConfigs), std::end(kConfigs));
        configs.push_back(
            {"wide head: SIMT forward and backward", 1, 20, 70, 72, 136, 1, false, 0.2});
        configs.push_back(
            {"E = 96: tensor-core forward, SIMT backward", 1, 33, 40, 96, 64, 2, false, 0});
        for (const Config& c : configs) {
            Inputs x = make_inputs(c);
            for (DType dt : {DType::bf16, DType::f16}) {
                INFO(std::string(c.name));
                CAPTURE(dt);
                std::vector<Tensor> cpu = run(c, x, dt, true);
                std::vector<Tensor> cuda = run(c, x, dt, true, Device::cuda());
                for (size_t i = 0; i < cpu.size(); ++i)
                    check_close(cuda[i], cpu[i], TolClass::attention_autocast, kNames[i]);
            }
        }
    }
}
