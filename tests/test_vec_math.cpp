// The vectorized float32 transcendentals (tensor/cpu/vec_math.h), measured through the public
// ops: maximum error in ulp against double-precision libm rounded to float, over every 61st
// float bit pattern of each function's domain (all binades), plus the special values. ctest runs
// this once per ISA (MARROW_CPU_ISA=avx512 / avx2 / base where supported).
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

#include "marrow.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/stream_store.h"
#include "tensor/cpu/vec_kernels.h"
#include "tests/compare.h"
#include "tests/cpu_isa.h"

using namespace marrow;

namespace {

int64_t ordered(float f) {
    int32_t i = std::bit_cast<int32_t>(f);
    return i < 0 ? int64_t(INT32_MIN) - int64_t(i) : int64_t(i);
}

// Max ulp distance of op(x) from ref(x) rounded to float, over floats in [lo, hi] stepping
// through bit patterns (every pattern when step = 1).
template <typename Op, typename Ref>
int64_t max_ulp(Op op, Ref ref, float lo, float hi, int64_t step, float* worst_x) {
    std::vector<float> xs;
    for (int64_t i = ordered(lo); i <= ordered(hi); i += step) {
        int32_t bits = i < 0 ? int32_t(int64_t(INT32_MIN) - i) : int32_t(i);
        xs.push_back(std::bit_cast<float>(bits));
    }
    Tensor x = from_vector<float>(xs);
    Tensor y = op(x);
    const float* py = y.data<float>();
    int64_t worst = 0;
    for (size_t k = 0; k < xs.size(); ++k) {
        float want = float(ref(double(xs[k])));
        int64_t d = (std::isnan(want) || std::isnan(py[k]))
                        ? (std::isnan(want) == std::isnan(py[k]) ? 0 : 1 << 30)
                        : std::abs(ordered(py[k]) - ordered(want));
        if (d > worst) {
            worst = d;
            *worst_x = xs[k];
        }
    }
    return worst;
}

struct Case {
    const char* name;
    Tensor (*op)(const Tensor&);
    double (*ref)(double);
    float lo, hi;
    int64_t bound;
};

}  // namespace

TEST_CASE("vectorized exp, log, tanh, erf: maximum ulp error within the documented bounds") {
    if (!test::cpu_isa_available()) return;
    std::printf("ISA: %s\n", cpu::isa_name(cpu::cpu_isa()));
    const float inf = std::numeric_limits<float>::infinity();
    Case cases[] = {
        {"exp", [](const Tensor& x) { return exp(x); }, [](double v) { return std::exp(v); },
         -110.0f, 100.0f, 1},
        {"log", [](const Tensor& x) { return log(x); }, [](double v) { return std::log(v); },
         1e-45f, 3e38f, 1},
        {"tanh", [](const Tensor& x) { return tanh(x); }, [](double v) { return std::tanh(v); },
         -20.0f, 20.0f, 2},
        {"erf",
         [](const Tensor& x) {
             Tensor y = empty_like(x);
             cpu::fast_erf()(x.data<float>(), y.data<float>(), x.numel());
             return y;
         },
         [](double v) { return std::erf(v); }, -10.0f, 10.0f, 3},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        float worst_x = 0;
        int64_t ulp = max_ulp(c.op, c.ref, c.lo, c.hi, 61, &worst_x);
        std::printf("  %-11s max %lld ulp (at %.9g)\n", c.name, (long long)ulp, worst_x);
        CHECK(ulp <= c.bound);
    }
    // Special values.
    Tensor s = from_vector<float>({inf, -inf, std::nanf(""), 0.0f, -0.0f, 1e-40f, -1.0f});
    auto f = [](const Tensor& t, int k) { return t.data<float>()[k]; };
    Tensor e = exp(s), l = log(s), t = tanh(s);
    CHECK(f(e, 0) == inf);
    CHECK(f(e, 1) == 0.0f);
    CHECK(std::isnan(f(e, 2)));
    CHECK(f(e, 3) == 1.0f);
    CHECK(f(l, 0) == inf);
    CHECK(std::isnan(f(l, 1)));
    CHECK(std::isnan(f(l, 2)));
    CHECK(f(l, 3) == -inf);
    CHECK(f(l, 5) == doctest::Approx(std::log(1e-40)));
    CHECK(std::isnan(f(l, 6)));
    CHECK(f(t, 0) == 1.0f);
    CHECK(f(t, 1) == -1.0f);
    CHECK(std::isnan(f(t, 2)));
}

TEST_CASE("vectorized sigmoid, silu and the gelu backward agree with the float64 formulas") {
    if (!test::cpu_isa_available()) return;
    Generator gen(1);
    Tensor x = randn({100003}, DType::f32, Device::cpu(), gen) * 6.0;
    Tensor x64 = to(x, DType::f64);
    for (auto item : std::initializer_list<std::pair<const char*, Tensor (*)(const Tensor&)>>{
             {"sigmoid", [](const Tensor& t) { return sigmoid(t); }},
             {"silu", [](const Tensor& t) { return silu(t); }},
             {"gelu_tanh", [](const Tensor& t) { return gelu(t, "tanh"); }}}) {
        auto [name_binding, f] = item;
        const char* name = name_binding;  // clang 14 cannot capture a binding (CAPTURE)
        CAPTURE(name);
        double err = max(abs(to(f(x), DType::f64) - f(x64))).item();
        CHECK(err < 3e-6);
    }
    // gelu's backward at float32 against float64.
    Tensor a = clone(x).requires_grad_(), b = clone(x64).requires_grad_();
    sum(gelu(a)).backward();
    sum(gelu(b)).backward();
    CHECK(max(abs(to(a.grad(), DType::f64) - b.grad())).item() < 3e-6);
}

TEST_CASE("vectorized softmax rows against the float64 reference loops, sizes around the lanes") {
    if (!test::cpu_isa_available()) return;
    Generator gen(2);
    for (int64_t d : {1, 7, 15, 16, 17, 31, 33, 257, 4099}) {
        CAPTURE(d);
        Tensor x = randn({5, d}, DType::f32, Device::cpu(), gen) * 8.0;
        fill_(narrow(x, 0, 3, 1), -INFINITY);  // an all -inf row: NaN, as PyTorch
        Tensor x64 = to(x, DType::f64);
        for (bool log : {false, true}) {
            CAPTURE(log);
            Tensor y = log ? log_softmax(x, 1) : softmax(x, 1);
            Tensor ref = log ? log_softmax(x64, 1) : softmax(x64, 1);
            Tensor ok_rows = narrow(y, 0, 0, 3), ref_rows = narrow(ref, 0, 0, 3);
            CHECK(max(abs(to(ok_rows, DType::f64) - ref_rows)).item() < (log ? 2e-5 : 1e-6));
            CHECK(std::isnan(y.data<float>()[3 * d]));
            // backward
            Tensor a = clone(x).requires_grad_(), b = clone(x64).requires_grad_();
            Tensor w = randn({5, d}, DType::f32, Device::cpu(), gen);
            sum(mul(log ? log_softmax(a, 1) : softmax(a, 1), w)).backward();
            sum(mul(log ? log_softmax(b, 1) : softmax(b, 1), to(w, DType::f64))).backward();
            Tensor ga = narrow(a.grad(), 0, 0, 3), gb = narrow(b.grad(), 0, 0, 3);
            CHECK(max(abs(to(ga, DType::f64) - gb)).item() < 1e-4);
        }
    }
}

TEST_CASE("vectorized max/min with indices: first occurrence, NaN wins, every ISA") {
    if (!test::cpu_isa_available()) return;
    Generator gen(3);
    for (int64_t d : {1, 7, 15, 16, 17, 31, 33, 257}) {
        CAPTURE(d);
        // Rows: random with ties (rounded values), one with a NaN late, one all -inf.
        Tensor x =
            to(to(randn({4, d}, DType::f32, Device::cpu(), gen) * 2.0, DType::i64), DType::f32);
        float* p = x.data<float>();
        p[1 * d + d - 1] = NAN;
        if (d > 3) p[1 * d + 2] = NAN;  // the first NaN is the answer
        for (int64_t i = 0; i < d; ++i) p[2 * d + i] = -INFINITY;
        Tensor x64 = to(x, DType::f64);
        for (bool want_max : {true, false}) {
            CAPTURE(want_max);
            auto [v, i] = want_max ? max(x, 1) : min(x, 1);
            auto [v64, i64] = want_max ? max(x64, 1) : min(x64, 1);
            for (int64_t r = 0; r < 4; ++r) {
                CAPTURE(r);
                double a = v.data<float>()[r], b = v64.data<double>()[r];
                CHECK((std::isnan(a) ? std::isnan(b) : a == b));
                CHECK(i.data<int64_t>()[r] == i64.data<int64_t>()[r]);
            }
        }
    }
}

TEST_CASE("streaming stores: stream_copy at every alignment, and ops on outputs past the threshold") {
    if (!test::cpu_isa_available()) return;
    // stream_copy: every head alignment and lengths around the vector widths.
    std::vector<unsigned char> src(700), dst(700);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<unsigned char>(i * 7 + 3);
    for (size_t offset : {0, 1, 15, 16, 33, 63}) {
        for (size_t bytes : {0, 1, 15, 16, 63, 64, 65, 127, 128, 129, 511}) {
            CAPTURE(offset);
            CAPTURE(bytes);
            std::fill(dst.begin(), dst.end(), 0);
            cpu::stream_copy(dst.data() + offset, src.data() + 5, bytes);
            cpu::stream_fence();
            for (size_t i = 0; i < dst.size(); ++i) {
                bool inside = i >= offset && i < offset + bytes;
                if (dst[i] != (inside ? src[i - offset + 5] : 0)) FAIL("byte " << i << " differs");
            }
        }
    }
    // Unary, vectorized unary, binary, broadcast binary and a backward on outputs of at least
    // kStreamBytes, one of them through a view that starts off the vector alignment.
    int64_t n = cpu::kStreamBytes / 4 + 37;
    Generator gen(4);
    Tensor x = narrow(randn({n + 1}, DType::f32, Device::cpu(), gen), 0, 1, n);
    Tensor y = randn({n}, DType::f32, Device::cpu(), gen);
    Tensor s = full({1}, 0.5, DType::f32);
    Tensor g = clone(x).requires_grad_();
    sum(gelu(g)).backward();
    struct Case {
        const char* name;
        Tensor out;
        std::function<float(int64_t)> expected;
    };
    const float* px = x.data<float>();
    const float* py = y.data<float>();
    for (const Case& c : std::vector<Case>{
             {"relu", relu(x), [&](int64_t i) { return std::max(px[i], 0.0f); }},
             {"exp", exp(x), [&](int64_t i) { return std::exp(px[i]); }},
             {"add", add(x, y), [&](int64_t i) { return px[i] + py[i]; }},
             {"mul by a scalar tensor", mul(x, s), [&](int64_t i) { return px[i] * 0.5f; }},
             {"gelu backward", g.grad(), [&](int64_t i) {
                  double v = px[i], cdf = 0.5 * (1 + std::erf(v / std::sqrt(2.0)));
                  return float(cdf + v * std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI));
              }}}) {
        CAPTURE(c.name);
        REQUIRE(c.out.numel() * 4 >= cpu::kStreamBytes);
        const float* o = c.out.data<float>();
        int64_t bad = 0;
        for (int64_t i = 0; i < n; i += (i < 5000 || i > n - 5000) ? 1 : 997)
            bad += std::abs(o[i] - c.expected(i)) > 1e-6f * (1 + std::abs(c.expected(i)));
        CHECK(bad == 0);
    }
}

TEST_CASE("vectorized logsumexp (online max-and-sum) against float64, with -inf, +inf and NaN") {
    if (!test::cpu_isa_available()) return;
    Generator gen(5);
    for (int64_t d : {1, 7, 16, 511, 512, 513, 1500, 5000}) {
        CAPTURE(d);
        // Rows: random (scaled so chunk maxima rise and fall), with -inf entries, all -inf,
        // one +inf, one NaN.
        Tensor x = randn({5, d}, DType::f32, Device::cpu(), gen) * 20.0;
        float* p = x.data<float>();
        for (int64_t i = 1; i < d; i += 3) p[d + i] = -INFINITY;
        for (int64_t i = 0; i < d; ++i) p[2 * d + i] = -INFINITY;
        p[3 * d + d / 2] = INFINITY;
        p[4 * d + d - 1] = NAN;
        Tensor got = logsumexp(x, {1});
        Tensor ref = logsumexp(to(x, DType::f64), {1});
        const float* g = got.data<float>();
        const double* r = ref.data<double>();
        CHECK(std::abs(g[0] - r[0]) <= 2e-6 * std::abs(r[0]) + 1e-6);
        CHECK(std::abs(g[1] - r[1]) <= 2e-6 * std::abs(r[1]) + 1e-6);
        CHECK(g[2] == -INFINITY);
        CHECK(g[3] == INFINITY);
        CHECK(std::isnan(g[4]));
    }
    // One long row: cut across threads, partial sums rescaled to the larger maximum.
    Tensor row = randn({1, 300001}, DType::f32, Device::cpu(), gen) * 30.0;
    row.data<float>()[250000] = 400.0f;  // the maximum sits in the second half
    double want = logsumexp(to(row, DType::f64), {1}).data<double>()[0];
    CHECK(std::abs(logsumexp(row, {1}).data<float>()[0] - want) <= 2e-6 * std::abs(want));
}

TEST_CASE("vectorized softmax: rows with -inf runs, +inf, NaN, and long rows") {
    if (!test::cpu_isa_available()) return;
    Generator gen(6);
    for (int64_t d : {1500, 40000}) {
        CAPTURE(d);
        Tensor x = randn({4, d}, DType::f32, Device::cpu(), gen) * 10.0;
        float* p = x.data<float>();
        for (int64_t i = 0; i < 700; ++i) p[i] = -INFINITY;  // row 0: its first chunk(s) -inf
        p[d + d - 3] = INFINITY;                             // row 1: +inf -> NaN
        p[2 * d + 5] = NAN;                                  // row 2: NaN -> NaN
        p[3 * d + d / 2] = 60.0f;                            // row 3: the maximum mid-row
        Tensor x64 = to(x, DType::f64);
        for (bool log : {false, true}) {
            CAPTURE(log);
            Tensor y = log ? log_softmax(x, 1) : softmax(x, 1);
            Tensor ref = log ? log_softmax(x64, 1) : softmax(x64, 1);
            const float* py = y.data<float>();
            const double* pr = ref.data<double>();
            for (int64_t r : {0, 3}) {
                CAPTURE(r);
                double worst = 0;
                for (int64_t i = 0; i < d; ++i) {
                    double want = pr[r * d + i], got = py[r * d + i];
                    if (std::isinf(want)) {
                        CHECK(got == want);
                        continue;
                    }
                    worst = std::max(worst, std::abs(got - want) / (log ? 1 + std::abs(want) : 1));
                }
                CHECK(worst < (log ? 2e-6 : 1e-6));
            }
            for (int64_t r : {1, 2}) {
                CAPTURE(r);
                int64_t nans = 0;
                for (int64_t i = 0; i < d; ++i) nans += std::isnan(py[r * d + i]);
                CHECK(nans == d);
                CHECK(std::isnan(pr[r * d]));  // as the float64 reference loop
            }
        }
    }
}
