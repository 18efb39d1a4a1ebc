// Float32 exp, log, tanh and erf written so a compiler vectorizes loops over them: no
// branches (both sides computed, then selected), no table lookups, no libm calls; only
// arithmetic, float<->int conversions and bit casts. tensor/cpu/vec_unary.cpp compiles loops
// over them for AVX-512, AVX2+FMA and baseline x86-64 and picks one at run time (with
// -fno-trapping-math, without which GCC keeps the NaN selects as branches).
//
// Maximum error against the correctly rounded result (double-precision libm, rounded), measured
// by tests/test_vec_math.cpp on every 61st float of each domain, for each ISA copy:
//   vexp   1 ulp on [-110, 100] (subnormal results included; inf above 88.72, 0 below -103.97)
//   vlog   1 ulp on (0, 3e38] including subnormals; -inf at 0, NaN below 0
//   vtanh  1 ulp (tested bound 2)
//   verf   2 ulp with FMA (AVX2, AVX-512), 3 ulp on baseline x86-64, worst near |x| = 1
//   verf_gelu (GELU only) 1.5e-7 absolute (Abramowitz & Stegun 7.1.26)
//   vexp_core vexp's 1 ulp on [-87, 88], the caller keeps x there (tanh, the exp loop's
//             in-range blocks)
//   vexp_neg  vexp's 1 ulp on [-87, 0], 0 below (GELU, softmax, logsumexp: only where
//             results under 1.6e-38 do not matter next to the other terms)
// NaN in gives NaN out. The float64 paths keep libm (gradcheck runs in float64).
//
// Methods: exp and log are Cephes' (S. Moshier) reductions and polynomials: exp reduces by
// n = round(x / ln 2) with a two-part ln 2 and scales by 2^n in two steps (so subnormal
// results are exact to rounding); log splits x = m 2^e with m in [sqrt(1/2), sqrt(2)). tanh
// uses Cephes' odd polynomial below 0.625 and 1 - 2 / (e^(2|x|) + 1) above. erf uses two
// least-squares fits made by tools/fit_erf.py: x P(x^2) for |x| <= 1 and 1 - e^(Q(|x|)) up to
// 3.92, past which erf is 1 in float.
#pragma once
#include <bit>
#include <cstdint>

namespace marrow::cpu {

#define MARROW_VEC_INLINE [[gnu::always_inline]] inline

MARROW_VEC_INLINE float vselect(bool c, float a, float b) { return c ? a : b; }

// 2^n for integer-valued n in [-126, 127], by building the exponent bits.
MARROW_VEC_INLINE float pow2i(float n) { return std::bit_cast<float>(int32_t(n + 127.0f) << 23); }

// The reduction and polynomial every exp here shares: n = round(x / ln 2) and the return value
// p = e^(x - n ln 2), |x - n ln 2| <= ln2 / 2, with a two-part ln 2. e^x = p 2^n.
MARROW_VEC_INLINE float exp_reduced(float x, float& n) {
    constexpr float kLog2e = 1.44269504088896341f;
    constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
    // Round to nearest even by adding and subtracting 1.5 * 2^23 (no libm call, so loops
    // vectorize even on baseline SSE2).
    n = (x * kLog2e + 12582912.0f) - 12582912.0f;
    float r = x - n * kLn2Hi - n * kLn2Lo;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return p * r * r + r + 1.0f;
}

MARROW_VEC_INLINE float vexp(float x) {
    // Clamp as min / max (NaN becomes 89 here and is restored at the end): past 89 the result
    // overflows to inf and below -104 rounds to 0 by themselves.
    float xc = x < 89.0f ? x : 89.0f;
    xc = xc > -104.0f ? xc : -104.0f;
    float n;
    float p = exp_reduced(xc, n);
    // 2^n in two normal factors, 2^na (na in [-126, 127]) and 2^(n - na) (in [-24, 1]): the
    // first product is exact, the second rounds once, so subnormal results are correctly
    // rounded and n = 128 overflows to inf only when the result does.
    float na = n < 127.0f ? n : 127.0f;
    na = na > -126.0f ? na : -126.0f;
    float y = p * pow2i(na) * pow2i(n - na);
    return vselect(x != x, x, y);
}

// e^x for x in [-87, 88] only (callers clamp or check): vexp without range or NaN handling,
// one scaling step; ~20 instructions per vector against ~45.
MARROW_VEC_INLINE float vexp_core(float x) {
    float n;
    float p = exp_reduced(x, n);
    return p * pow2i(n);
}

// e^x for x <= 0 where results below the normal range may be flushed: GELU's tails (whose
// other factors are tiny there) and softmax / logsumexp's exp(x - max) (summed with a term of
// 1). No overflow or subnormal selects (GELU on 4M floats 1.62 -> 1.00 ms, softmax 4096 x
// 1024 1.66 -> ~1.1 ms). 0 below -87 and for NaN: callers propagate NaN through their other
// terms (a NaN row's sum is 0, 0 / 0).
MARROW_VEC_INLINE float vexp_neg(float x) {
    float xc = x > -87.0f ? x : -87.0f;  // also keeps NaN out of the float -> int conversion
    return vselect(x > -87.0f, vexp_core(xc), 0.0f);
}

MARROW_VEC_INLINE float vlog(float x) {
    // Subnormals: scale into the normal range first, correct the exponent after.
    bool tiny = x < 1.17549435e-38f;
    float xs = vselect(tiny, x * 8388608.0f, x);                 // x 2^23
    xs = vselect(xs > 0.0f && xs < __builtin_inff(), xs, 1.0f);  // specials: selected below
    int32_t bits = std::bit_cast<int32_t>(xs);
    float e = float((bits >> 23) - 127) - vselect(tiny, 23.0f, 0.0f);
    float m = std::bit_cast<float>((bits & 0x007fffff) | 0x3f800000);  // [1, 2)
    bool high = m > 1.41421356f;
    m = vselect(high, m * 0.5f, m);  // [sqrt(1/2), sqrt(2))
    e = vselect(high, e + 1.0f, e);
    float f = m - 1.0f, z = f * f;
    float p = 7.0376836292e-2f;
    p = p * f - 1.1514610310e-1f;
    p = p * f + 1.1676998740e-1f;
    p = p * f - 1.2420140846e-1f;
    p = p * f + 1.4249322787e-1f;
    p = p * f - 1.6668057665e-1f;
    p = p * f + 2.0000714765e-1f;
    p = p * f - 2.4999993993e-1f;
    p = p * f + 3.3333331174e-1f;
    float y = f * z * p + e * -2.12194440e-4f - 0.5f * z;
    y = f + y + e * 0.693359375f;
    y = vselect(x == 0.0f, -__builtin_inff(), y);
    y = vselect(x < 0.0f, __builtin_nanf(""), y);
    y = vselect(x == __builtin_inff(), x, y);
    return vselect(x != x, x, y);
}

MARROW_VEC_INLINE float vtanh(float x) {
    float ax = __builtin_fabsf(x);
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    // tanh is 1 in float from |x| = 9.01 on: e^(2|x|) clamped at e^20 keeps the exp in range.
    float e2 = 2.0f * ax;
    float big = 1.0f - 2.0f / (vexp_core(e2 < 20.0f ? e2 : 20.0f) + 1.0f);
    big = vselect(x < 0.0f, -big, big);
    float y = vselect(ax < 0.625f, small, big);
    return vselect(x != x, x, y);
}

MARROW_VEC_INLINE float verf(float x) {
    float ax = __builtin_fabsf(x);
    float t = x * x;
    float p = 7.882497099e-05f;  // tools/fit_erf.py, |x| <= 1
    p = p * t - 8.018854988e-04f;
    p = p * t + 5.189311942e-03f;
    p = p * t - 2.685432880e-02f;
    p = p * t + 1.128359746e-01f;
    p = p * t - 3.761262690e-01f;
    p = p * t + 1.128379166e+00f;
    float small = x * p;
    float u = (ax > 3.92f ? 3.92f : ax) - 2.46f;  // 1 < |x| < 3.92: 1 - e^Q(u)
    float q = -5.307429553e-08f;
    q = q * u + 1.644965824e-06f;
    q = q * u - 1.355349565e-05f;
    q = q * u + 8.107204205e-05f;
    q = q * u - 4.396395323e-04f;
    q = q * u + 2.251222732e-03f;
    q = q * u - 1.121146749e-02f;
    q = q * u - 9.425696155e-01f;
    q = q * u - 5.277221922e+00f;
    q = q * u - 7.594217576e+00f;
    float big = 1.0f - vexp(q);
    big = vselect(ax >= 3.92f, 1.0f, big);
    big = vselect(x < 0.0f, -big, big);
    float y = vselect(ax <= 1.0f, small, big);
    return vselect(x != x, x, y);
}

// erf to 1.5e-7 absolute (not ulp-accurate near 0) for GELU, where only 1 + erf matters:
// Abramowitz & Stegun 7.1.26, erf(x) = 1 - t (a1 + t (a2 + ...)) e^(-x^2), t = 1 / (1 + p|x|),
// one division and one exp instead of verf's two polynomials and an exp.
MARROW_VEC_INLINE float verf_gelu(float x) {
    float ax = __builtin_fabsf(x);
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    float y = 1.0f - p * t * vexp_neg(-ax * ax);
    return vselect(x < 0.0f, -y, y);
}

}  // namespace marrow::cpu
