// What the CPU conv2d kernels share (tensor/cpu/conv.cpp: the implicit-GEMM path;
// tensor/cpu/conv_direct.cpp: the direct loops for groups with few output channels;
// conv_nhwc.cpp: the channels-last direct kernel; conv_winograd.cpp: Winograd F(2x2, 3x3)).
#pragma once
#include <omp.h>

#include <algorithm>
#include <vector>

#include "tensor/kernels.h"

namespace marrow::cpu::conv {

// Groups with fewer output channels than this take the direct path.
constexpr int64_t kGemmMinChannels = 8;
// Products smaller than this many multiply-adds run on one thread.
constexpr double kParallelMacs = double(1 << 18);

struct Sizes {
    int64_t cg, og, taps, kc, p, hw;  // C/groups, O/groups, kH kW, Cg kH kW, Ho Wo, H W
};
inline Sizes sizes(const Conv2dGeometry& g) {
    int64_t cg = g.c / g.groups, taps = g.kh * g.kw;
    return {cg, g.o / g.groups, taps, cg * taps, g.ho * g.wo, g.h * g.w};
}

// Output columns s in [lo, hi) are the ones whose tap j reads inside the image: 0 <= s sw + off
// < w with off = j dw - pw.
struct ColRange {
    int64_t lo, hi, off;
};
inline std::vector<ColRange> col_ranges(const Conv2dGeometry& g) {
    std::vector<ColRange> out;
    for (int64_t j = 0; j < g.kw; ++j) {
        int64_t off = j * g.dil_w - g.pad_w;
        int64_t lo = off >= 0 ? 0 : (-off + g.stride_w - 1) / g.stride_w;
        int64_t last = g.w - 1 - off;  // s sw <= last
        int64_t hi = last < 0 ? 0 : last / g.stride_w + 1;
        lo = std::min(lo, g.wo);
        out.push_back({lo, std::clamp(hi, lo, g.wo), off});
    }
    return out;
}

// The channels-last direct path (conv_nhwc.cpp) from this many input channels on; below it
// (a network's stem: 3 channels, 49 taps) the implicit GEMM's panels are cheaper.
constexpr int64_t kNhwcMinChannels = 16;
bool nhwc_applies(const Conv2dGeometry& g);
bool nhwc_input_gradient_applies(const Conv2dGeometry& g);
template <typename T>
void forward_nhwc(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void backward_input_nhwc(const Conv2dGeometry& g, const T* gy, const T* w, T* gx);
template <typename T>
void backward_weight_nhwc(const Conv2dGeometry& g, const T* x, const T* gy, T* gw);

// Shared by the channels-last kernels (defined in conv_nhwc.cpp). The register tile:
// out (MR x NR, row-major) = sum over taps t and channels k of
//   rows[r][tap_offsets[t] + k] * w[(t c + k) NR + j],
// MR x NR per ISA (AVX-512 float: 12 x 32).
struct TileChoice {
    int mr, nr;
};
template <typename T>
using TileKernel = void (*)(const T* const* rows, const int64_t* tap_offsets, int64_t taps,
                            int64_t c, const T* w, T* out);
template <typename T>
TileChoice tile_choice();
template <typename T>
TileKernel<T> tile_kernel();
// dst[j][k] = src[k stride + j] for j, k < 16 (16 rows of 16 values transposed).
template <typename T>
using Transpose16 = void (*)(const T* src, int64_t stride, T* const* dst);
template <typename T>
Transpose16<T> transpose16();
// dst (n, hp, wp, c) = x (n, c, h, w) at rows [top, top + h), columns [left, left + w), zero
// elsewhere.
template <typename T>
void to_padded_channels_last(const T* x, int64_t n, int64_t c, int64_t h, int64_t w, int64_t hp,
                             int64_t wp, int64_t top, int64_t left, T* dst);

// Winograd F(2x2, 3x3) for 3x3 convolutions at stride 1 and padding 1 (conv_winograd.cpp):
// float, AVX-512, channel counts multiples of 16; forward, input and weight gradients.
bool winograd_applies(const Conv2dGeometry& g);
void forward_winograd(const Conv2dGeometry& g, const float* x, const float* w, const float* bias,
                      float* y);
void backward_input_winograd(const Conv2dGeometry& g, const float* gy, const float* w, float* gx);
void backward_weight_winograd(const Conv2dGeometry& g, const float* x, const float* gy, float* gw);

template <typename T>
void forward_direct(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void backward_input_direct(const Conv2dGeometry& g, const T* gy, const T* w, T* gx);
template <typename T>
void backward_weight_direct(const Conv2dGeometry& g, const T* x, const T* gy, T* gw);

}  // namespace marrow::cpu::conv
