// The readable conv2d oracle: forward, input gradient and weight gradient as plain loops over
// the definition, accumulating in double. Tests check the fast kernels (tensor/cpu/conv.cpp)
// against these; nothing else calls them.
//
//   y[n, o, r, s] = bias[o] + sum_{ci, i, j} w[o, ci, i, j] x[n, g Cg + ci, r sh - ph + i dh,
//                                                             s sw - pw + j dw]
// with g = o / Og the output channel's group (Og = O / groups, Cg = C / groups) and x zero
// outside the image.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/kernels.h"

namespace marrow::cpu {

// Calls f(input_row, input_col) for each (i, j) tap of output pixel (r, s) that lands inside
// the image, with the tap.
template <typename F>
void conv_taps(const Conv2dGeometry& g, int64_t r, int64_t s, F&& f) {
    for (int64_t i = 0; i < g.kh; ++i) {
        int64_t ih = r * g.stride_h - g.pad_h + i * g.dil_h;
        if (ih < 0 || ih >= g.h) continue;
        for (int64_t j = 0; j < g.kw; ++j) {
            int64_t iw = s * g.stride_w - g.pad_w + j * g.dil_w;
            if (iw < 0 || iw >= g.w) continue;
            f(i, j, ih, iw);
        }
    }
}

// x: (n, c, h, w), w: (o, c / groups, kh, kw), bias: (o,) or null, y: (n, o, ho, wo).
template <typename T>
void conv2d_reference(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
    int64_t cg = g.c / g.groups, og = g.o / g.groups;
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t o = 0; o < g.o; ++o)
            for (int64_t r = 0; r < g.ho; ++r)
                for (int64_t s = 0; s < g.wo; ++s) {
                    double sum = bias ? double(bias[o]) : 0.0;
                    for (int64_t ci = 0; ci < cg; ++ci) {
                        int64_t c = o / og * cg + ci;
                        conv_taps(g, r, s, [&](int64_t i, int64_t j, int64_t ih, int64_t iw) {
                            sum += double(w[((o * cg + ci) * g.kh + i) * g.kw + j]) *
                                   double(x[((n * g.c + c) * g.h + ih) * g.w + iw]);
                        });
                    }
                    y[((n * g.o + o) * g.ho + r) * g.wo + s] = T(sum);
                }
}

// gx[n, c, ih, iw] = sum over the outputs (o, r, s) whose tap (i, j) reads (ih, iw) of
// w[o, ci, i, j] gy[n, o, r, s]: the forward's sum scattered back.
template <typename T>
void conv2d_backward_input_reference(const Conv2dGeometry& g, const T* gy, const T* w, T* gx) {
    int64_t cg = g.c / g.groups, og = g.o / g.groups;
    std::vector<double> acc(size_t(g.n * g.c * g.h * g.w), 0.0);
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t o = 0; o < g.o; ++o)
            for (int64_t r = 0; r < g.ho; ++r)
                for (int64_t s = 0; s < g.wo; ++s) {
                    double go = gy[((n * g.o + o) * g.ho + r) * g.wo + s];
                    for (int64_t ci = 0; ci < cg; ++ci) {
                        int64_t c = o / og * cg + ci;
                        conv_taps(g, r, s, [&](int64_t i, int64_t j, int64_t ih, int64_t iw) {
                            acc[size_t(((n * g.c + c) * g.h + ih) * g.w + iw)] +=
                                double(w[((o * cg + ci) * g.kh + i) * g.kw + j]) * go;
                        });
                    }
                }
    for (size_t k = 0; k < acc.size(); ++k) gx[k] = T(acc[k]);
}

// gw[o, ci, i, j] = sum_{n, r, s} gy[n, o, r, s] x[n, c, r sh - ph + i dh, s sw - pw + j dw].
template <typename T>
void conv2d_backward_weight_reference(const Conv2dGeometry& g, const T* x, const T* gy, T* gw) {
    int64_t cg = g.c / g.groups, og = g.o / g.groups;
    std::vector<double> acc(size_t(g.o * cg * g.kh * g.kw), 0.0);
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t o = 0; o < g.o; ++o)
            for (int64_t r = 0; r < g.ho; ++r)
                for (int64_t s = 0; s < g.wo; ++s) {
                    double go = gy[((n * g.o + o) * g.ho + r) * g.wo + s];
                    for (int64_t ci = 0; ci < cg; ++ci) {
                        int64_t c = o / og * cg + ci;
                        conv_taps(g, r, s, [&](int64_t i, int64_t j, int64_t ih, int64_t iw) {
                            acc[size_t(((o * cg + ci) * g.kh + i) * g.kw + j)] +=
                                go * double(x[((n * g.c + c) * g.h + ih) * g.w + iw]);
                        });
                    }
                }
    for (size_t k = 0; k < acc.size(); ++k) gw[k] = T(acc[k]);
}

}  // namespace marrow::cpu
