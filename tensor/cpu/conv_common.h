// What the CPU conv2d kernels share (tensor/cpu/conv.cpp: the implicit-GEMM path;
// tensor/cpu/conv_direct.cpp: the direct loops for groups with few output channels).
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

template <typename T>
void forward_direct(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void backward_input_direct(const Conv2dGeometry& g, const T* gy, const T* w, T* gx);
template <typename T>
void backward_weight_direct(const Conv2dGeometry& g, const T* x, const T* gy, T* gw);

}  // namespace marrow::cpu::conv
