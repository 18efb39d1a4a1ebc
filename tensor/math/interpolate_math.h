// F.interpolate's source mapping, one spatial axis at a time, shared by the CPU kernels
// (tensor/cpu/interpolate.cpp, tensor/cpu/interpolate_reference.h) and the CUDA kernels
// (cuda/kernels/interpolate.cu), so both backends read the same input elements with the same
// weights. An output index o of an axis reads up to 4 input indices ("taps") with weights;
// a 2-d output is the outer product of its row's and its column's taps.
//
// PyTorch 1.13's CPU kernels (aten/src/ATen/native/UpSample.h, cpu/UpSampleKernel.cpp),
// with their arithmetic types (A = acc_t<T>: float for float tensors, double for double):
//   ratio (area_pixel_compute_scale): align_corners: (in - 1) / (out - 1), 0 when out == 1;
//         else 1 / scale when a scale factor was given (F.interpolate's scale_factor with
//         recompute_scale_factor not true: DINOv2's pos-embed resize relies on it), else
//         in / out.
//   src   (area_pixel_compute_source_index): align_corners: ratio * o; else
//         ratio * (o + 0.5) - 0.5 evaluated in double and rounded to A, clamped at 0 except
//         for bicubic.
//   nearest:  out == in: o; out == 2 in: o / 2; else min(floor(o * r), in - 1) with the
//             float ratio r (always float, also for double tensors, as PyTorch's nearest_idx).
//   linear:   out == in: o with weight 1 (a copy); else i0 = (int) src, i1 = i0 + 1 unless
//             i0 is the last index, l1 = clamp(src - i0, 0, 1), l0 = 1 - l1.
//   bicubic:  i = min(floor(src), in - 1), t = clamp(src - i, 0, 1); taps i - 1 .. i + 2
//             clamped into [0, in) (the border element repeats), Keys' cubic convolution
//             weights with A = -0.75 (get_cubic_upsample_coefficients).
#pragma once
#include <cstdint>

#include "tensor/kernels.h"
#include "tensor/math/host_device.h"

namespace marrow::interp {

inline constexpr int kMaxTaps = 4;

// Input indices (already clamped into [0, in)) and weights of one output index.
template <typename A>
struct Taps {
    int n;
    int64_t idx[kMaxTaps];
    A w[kMaxTaps];
};

MARROW_HOST_DEVICE inline int taps_per_axis(InterpolateMode mode) {
    return mode == InterpolateMode::nearest ? 1 : mode == InterpolateMode::bicubic ? 4 : 2;
}

MARROW_HOST_DEVICE inline int64_t clamp_index(int64_t i, int64_t n) {
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

// floor(v) as an integer without a libm call (|v| is far below 2^62 here).
template <typename A>
MARROW_HOST_DEVICE int64_t floor_index(A v) {
    int64_t i = int64_t(v);
    return A(i) > v ? i - 1 : i;
}

// The output-to-input coordinate ratio of an axis, in A.
template <typename A>
MARROW_HOST_DEVICE A axis_ratio(const InterpolateAxis& a, bool align_corners) {
    if (align_corners) return a.out > 1 ? A(a.in - 1) / A(a.out - 1) : A(0);
    return a.scale > 0 ? A(1.0 / a.scale) : A(a.in) / A(a.out);
}

// Keys' cubic convolution kernel, A = -0.75, as PyTorch's cubic_convolution1 (|x| <= 1) and
// cubic_convolution2 (1 < |x| < 2).
template <typename A>
MARROW_HOST_DEVICE A cubic1(A x) {
    const A a = A(-0.75);
    return ((a + 2) * x - (a + 3)) * x * x + 1;
}
template <typename A>
MARROW_HOST_DEVICE A cubic2(A x) {
    const A a = A(-0.75);
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

// The taps of output index o along axis `a`; `ratio` is axis_ratio<A>(a, align_corners).
template <typename A>
MARROW_HOST_DEVICE Taps<A> axis_taps(InterpolateMode mode, bool align_corners,
                                     const InterpolateAxis& a, A ratio, int64_t o) {
    Taps<A> t{};
    if (mode == InterpolateMode::nearest) {
        t.n = 1;
        t.w[0] = A(1);
        if (a.out == a.in) {
            t.idx[0] = o;
        } else if (a.out == 2 * a.in) {
            t.idx[0] = o >> 1;
        } else {
            float r = a.scale > 0 ? float(1.0 / a.scale) : float(a.in) / float(a.out);
            int64_t s = floor_index(float(o) * r);
            t.idx[0] = s < a.in - 1 ? s : a.in - 1;
        }
        return t;
    }
    bool cubic = mode == InterpolateMode::bicubic;
    A src = align_corners ? A(ratio * A(o)) : A(double(ratio) * (double(o) + 0.5) - 0.5);
    if (!cubic) {
        t.n = 2;
        if (a.out == a.in) {  // PyTorch copies: weight 1 on o (and 0 on the same index)
            t.idx[0] = t.idx[1] = o;
            t.w[0] = A(1);
            t.w[1] = A(0);
            return t;
        }
        if (src < A(0)) src = A(0);
        int64_t i0 = int64_t(src);
        t.idx[0] = i0;
        t.idx[1] = i0 + (i0 < a.in - 1 ? 1 : 0);
        A l1 = src - A(i0);
        l1 = l1 < A(0) ? A(0) : l1 > A(1) ? A(1) : l1;
        t.w[0] = A(1) - l1;
        t.w[1] = l1;
        return t;
    }
    t.n = 4;
    int64_t i = floor_index(src);
    if (i > a.in - 1) i = a.in - 1;
    A x = src - A(i);
    x = x < A(0) ? A(0) : x > A(1) ? A(1) : x;
    t.w[0] = cubic2<A>(x + A(1));
    t.w[1] = cubic1<A>(x);
    t.w[2] = cubic1<A>(A(1) - x);
    t.w[3] = cubic2<A>(A(2) - x);
    for (int j = 0; j < 4; ++j) t.idx[j] = clamp_index(i - 1 + j, a.in);
    return t;
}

// The weight with which output o (taps t) reads input index i: the sum over its taps at i
// (clamped border taps can repeat an index).
template <typename A>
MARROW_HOST_DEVICE A weight_at(const Taps<A>& t, int64_t i) {
    A w = A(0);
    for (int j = 0; j < t.n; ++j)
        if (t.idx[j] == i) w += t.w[j];
    return w;
}

// The first output index whose largest tap is >= bound (a.out when none). Each tap's index
// is a clamped, non-decreasing function of o in every mode, so the largest and the smallest
// tap are non-decreasing in o and binary searches find where they cross a bound.
template <typename A>
MARROW_HOST_DEVICE int64_t first_output_at_least(InterpolateMode mode, bool align_corners,
                                                 const InterpolateAxis& a, A ratio, int64_t bound) {
    int64_t lo = 0, hi = a.out;  // first o with max tap index >= bound
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        Taps<A> t = axis_taps<A>(mode, align_corners, a, ratio, mid);
        int64_t top = t.idx[0];
        for (int j = 1; j < t.n; ++j) top = t.idx[j] > top ? t.idx[j] : top;
        if (top >= bound)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

struct Range {
    int64_t lo, hi;
};

// Outputs whose taps include input i: max tap >= i and min tap <= i. Both tap bounds are
// non-decreasing in o, so this is the interval between two binary searches.
template <typename A>
MARROW_HOST_DEVICE Range outputs_reading(InterpolateMode mode, bool align_corners,
                                         const InterpolateAxis& a, A ratio, int64_t i) {
    int64_t lo = first_output_at_least<A>(mode, align_corners, a, ratio, i);
    // first o whose min tap exceeds i
    int64_t l = lo, h = a.out;
    while (l < h) {
        int64_t mid = (l + h) / 2;
        Taps<A> t = axis_taps<A>(mode, align_corners, a, ratio, mid);
        int64_t bottom = t.idx[0];
        for (int j = 1; j < t.n; ++j) bottom = t.idx[j] < bottom ? t.idx[j] : bottom;
        if (bottom > i)
            h = mid;
        else
            l = mid + 1;
    }
    return {lo, l};
}

}  // namespace marrow::interp
