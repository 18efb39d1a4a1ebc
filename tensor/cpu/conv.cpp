// CPU conv2d, the implicit-GEMM path: forward, input gradient and weight gradient on NCHW
// tensors, for groups with at least kGemmMinChannels output channels (the others:
// tensor/cpu/conv_direct.cpp). Per group, with P = Ho Wo output pixels, Kc = Cg kH kW and col
// the im2col matrix (row (ci, i, j), column (n, r, s): x[n, ci, r sh - ph + i dh,
// s sw - pw + j dw], zero outside the image):
//   forward   y (Og x N P)   = W (Og x Kc) @ col(x) (Kc x N P)
//   weight    gw (Og x Kc)   = gy (Og x N P) @ col(x)^T (N P x Kc)
//   input     dcol (Kc x N P) = W^T (Kc x Og) @ gy (Og x N P), then col2im adds dcol into gx
// each on the blocked GEMM (tensor/cpu/gemm.cpp). col is never written out: it is an implicit
// B operand (PanelSource) that packs the GEMM's KC x NR panels straight from the images (a
// contiguous copy per output row at stride 1 in the forward, a transposing gather in the
// weight gradient). The weight (W, or W^T) is packed once per call and shared by every image
// and thread. Each thread owns a range of whole images (so col2im never races; the weight
// gradient sums one partial per thread), taken a batch of images at a time when an image has
// few output pixels: ResNet-18's last stage has 5 x 5 = 25 per image, and one image per
// product would fill 25 of a 32-wide micro-tile and stream the 9 MB weight for 25 columns
// (forward 3x3 512 -> 512 at 5 x 5, batch 32: 0.29x PyTorch per image, see docs/design.md).
// A 1x1 stride-1 unpadded conv reads x as a plain matrix. With fewer images than threads, the
// products are split along pixels (forward), input channels (input gradient) or output
// channels (weight gradient) instead.
//
// The entry points at the end pick the path: 3x3 stride-1 padding-1 float convs with channel
// counts multiples of 16 take Winograd F(2x2, 3x3) on AVX-512 (tensor/cpu/conv_winograd.cpp);
// strided 1x1 convs gather the pixels they read and run the pointwise GEMM; groups of 1 with
// >= 16 input channels and a kernel larger than 1x1 (or 1x1 on small images with many
// channels) take the channels-last direct kernel (tensor/cpu/conv_nhwc.cpp; which layouts
// were measured and why: docs/design.md, "Convolution"); the rest this implicit GEMM, or the
// direct tap loops for groups with few output channels.
// The readable oracle: tensor/cpu/conv_reference.h (tests/test_conv.cpp).
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "tensor/cpu/conv_common.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/gemm.h"
#include "tensor/factory.h"

namespace marrow::cpu {
using namespace conv;
namespace {

bool is_pointwise(const Conv2dGeometry& g) {
    return g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 &&
           g.pad_w == 0;
}

// Images with fewer output pixels than kWidePixels go through the GEMM kBatchPixels at a time.
constexpr int64_t kWidePixels = 256, kBatchPixels = 512;
int64_t images_per_batch(int64_t p) { return p >= kWidePixels ? 1 : (kBatchPixels + p - 1) / p; }
// dcol blocks of the input gradient: about 1 MB (L2), at least 64 columns.
constexpr int64_t kDcolElements = int64_t(1) << 18;

// A grow-only per-thread scratch buffer (slot: which one).
template <typename T>
T* scratch(int slot, int64_t n) {
    thread_local std::vector<T> buffers[3];
    if (int64_t(buffers[slot].size()) < n) buffers[slot].resize(size_t(n));
    return buffers[slot].data();
}

// Scratch memory of the call from the caching allocator (large blocks freed to the system
// would cost an munmap, a TLB shootdown on every core, per call).
template <typename T>
T* call_buffer(std::vector<Tensor>& keep, int64_t n) {
    keep.push_back(empty({n}, dtype_v<T>));
    return keep.back().data<T>();
}

// W[g] (Og x Kc, row-major: rs Kc, cs 1) or W[g]^T (rs 1, cs Kc) packed once per group.
template <typename T>
std::vector<PackedA<T>> pack_weight(const Conv2dGeometry& g, const T* w, bool transposed,
                                    std::vector<Tensor>& keep) {
    Sizes z = sizes(g);
    int64_t m = transposed ? z.kc : z.og, k = transposed ? z.og : z.kc;
    int64_t size = packed_a_size<T>(m, k);
    T* dst = call_buffer<T>(keep, size * g.groups);
    std::vector<PackedA<T>> packed;
    for (int64_t grp = 0; grp < g.groups; ++grp)
        packed.push_back(pack_a_once<T>(m, k, w + grp * z.og * z.kc, transposed ? 1 : z.kc,
                                        transposed ? z.kc : 1, dst + grp * size));
    return packed;
}

// Images [n0, n1) of thread t of team.
struct ImageRange {
    int64_t n0, n1;
};
ImageRange images_of(int64_t n, int t, int team) { return {n * t / team, n * (t + 1) / team}; }

// a (og x cnt P) = gy[n0 .. n0 + cnt, group rows] side by side: the gradient of a batch of
// images as one matrix (gy: image 0's first row of the group, image stride o P).
template <typename T>
void gather_images(const T* gy, int64_t image_stride, int64_t og, int64_t p, int64_t n0,
                   int64_t cnt, T* a) {
    for (int64_t o = 0; o < og; ++o)
        for (int64_t i = 0; i < cnt; ++i)
            std::memcpy(a + o * cnt * p + i * p, gy + (n0 + i) * image_stride + o * p,
                        size_t(p) * sizeof(T));
}

// dst[0..n) = src[0..n) for the short runs of one output row (5-72 floats in ResNet-18):
// 32-byte moves inline. A memcpy call per run cost 7% of a 3x3 conv's time in the call
// itself; GCC would turn the tail loop back into a call (loop distribution), hence the
// attribute.
#if defined(__clang__)
#define MARROW_NO_LOOP_TO_CALL
#else
#define MARROW_NO_LOOP_TO_CALL [[gnu::optimize("no-tree-loop-distribute-patterns")]]
#endif
template <typename T>
MARROW_NO_LOOP_TO_CALL inline void copy_run(T* dst, const T* src, int64_t n) {
    constexpr int64_t kChunk = 32 / int64_t(sizeof(T));
    int64_t q = 0;
    for (; q + kChunk <= n; q += kChunk) __builtin_memcpy(dst + q, src + q, 32);
    for (; q < n; ++q) dst[q] = src[q];
}

// Writes output pixels [s0, s0 + len) of output row r for tap (i, j) of one channel plane
// into out[0..len) with element stride `step`: the plane's values, zero outside the image.
template <typename T>
inline void tap_segment(const Conv2dGeometry& g, const T* plane, const ColRange& cr, int64_t r,
                        int64_t i, int64_t s0, int64_t len, T* out, int64_t step) {
    int64_t ih = r * g.stride_h - g.pad_h + i * g.dil_h;
    int64_t a = std::clamp(cr.lo, s0, s0 + len), b = std::clamp(cr.hi, a, s0 + len);
    if (ih < 0 || ih >= g.h) a = b = s0 + len;
    for (int64_t s = s0; s < a; ++s) out[(s - s0) * step] = T(0);
    if (b > a) {
        const T* row = plane + ih * g.w;  // row[s sw + off] for s in [a, b): inside the row
        if (step == 1 && g.stride_w == 1)
            copy_run(out + (a - s0), row + a + cr.off, b - a);
        else
            for (int64_t s = a; s < b; ++s) out[(s - s0) * step] = row[s * g.stride_w + cr.off];
    }
    for (int64_t s = b; s < s0 + len; ++s) out[(s - s0) * step] = T(0);
}

// col(x[:, g]) (Kc x N P) as the forward's B operand, its columns the (image, output pixel)
// pairs in order: each panel row k = (ci, i, j) holds the tap's input values for the panel's
// pixels, output row by output row. x: image 0's first channel of the group.
template <typename T>
class ImageColumns final : public PanelSource<T> {
public:
    ImageColumns(const Conv2dGeometry& g, const T* x, const ColRange* ranges, int64_t first_col)
        : g_(g), x_(x), ranges_(ranges), first_(first_col) {}
    void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nr, int64_t nrw, T* dst) const override {
        j0 += first_;
        int64_t p = g_.ho * g_.wo, hw = g_.h * g_.w;
        int64_t ci = k0 / (g_.kh * g_.kw), i = k0 / g_.kw % g_.kh, j = k0 % g_.kw;
        for (int64_t k = 0; k < kc; ++k) {
            T* d = dst + k * nrw;
            int64_t n = j0 / p, r = j0 % p / g_.wo, s = j0 % g_.wo;
            for (int64_t col = 0; col < nr; s = 0) {
                int64_t len = std::min(nr - col, g_.wo - s);
                tap_segment(g_, x_ + (n * g_.c + ci) * hw, ranges_[j], r, i, s, len, d + col, 1);
                col += len;
                if (++r == g_.ho) r = 0, ++n;
            }
            for (int64_t col = nr; col < nrw; ++col) d[col] = T(0);
            if (++j == g_.kw && (j = 0, ++i == g_.kh)) i = 0, ++ci;
        }
    }

private:
    const Conv2dGeometry& g_;
    const T* x_;
    const ColRange* ranges_;
    int64_t first_;
};

// col(x[:, g])^T (N P x Kc) as the weight gradient's B operand: panel column (ci, i, j) holds
// the tap's input values down the panel's (image, output pixel) rows (a transposing gather).
template <typename T>
class PixelColumns final : public PanelSource<T> {
public:
    PixelColumns(const Conv2dGeometry& g, const T* x, const ColRange* ranges, int64_t first_row)
        : g_(g), x_(x), ranges_(ranges), first_(first_row) {}
    void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nr, int64_t nrw, T* dst) const override {
        k0 += first_;
        int64_t p = g_.ho * g_.wo, hw = g_.h * g_.w;
        int64_t ci = j0 / (g_.kh * g_.kw), i = j0 / g_.kw % g_.kh, j = j0 % g_.kw;
        for (int64_t col = 0; col < nr; ++col) {
            int64_t n = k0 / p, r = k0 % p / g_.wo, s = k0 % g_.wo;
            for (int64_t k = 0; k < kc; s = 0) {
                int64_t len = std::min(kc - k, g_.wo - s);
                tap_segment(g_, x_ + (n * g_.c + ci) * hw, ranges_[j], r, i, s, len,
                            dst + k * nrw + col, nrw);
                k += len;
                if (++r == g_.ho) r = 0, ++n;
            }
            if (++j == g_.kw && (j = 0, ++i == g_.kh)) i = 0, ++ci;
        }
        for (int64_t k = 0; k < kc; ++k)
            for (int64_t col = nr; col < nrw; ++col) dst[k * nrw + col] = T(0);
    }

private:
    const Conv2dGeometry& g_;
    const T* x_;
    const ColRange* ranges_;
    int64_t first_;
};

// Work split for fewer images than threads: each of `items` products is cut in `chunks`
// pieces along a dimension of `extent`.
int64_t chunks_for(int64_t items, int64_t extent) {
    int64_t threads = omp_get_max_threads();
    if (items >= threads) return 1;
    return std::clamp<int64_t>((threads + items - 1) / items, 1, std::max<int64_t>(extent, 1));
}

double macs_of(const Conv2dGeometry& g) {
    Sizes z = sizes(g);
    return double(g.n) * double(g.o) * double(z.p) * double(z.kc);
}
bool few_images(const Conv2dGeometry& g) {
    return g.n < omp_get_max_threads() && macs_of(g) >= kParallelMacs;
}

// ---- forward

// Few images: each image's product cut along its pixels (the weight repacked per piece).
template <typename T>
void forward_few_images(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    int64_t items = g.n * g.groups, chunks = chunks_for(items, z.p / 32);
#pragma omp parallel for schedule(static)
    for (int64_t it = 0; it < items * chunks; ++it) {
        int64_t item = it / chunks, ch = it % chunks, n = item / g.groups, grp = item % g.groups;
        int64_t lo = z.p * ch / chunks, hi = z.p * (ch + 1) / chunks;
        if (hi == lo) continue;
        T* yo = y + (n * g.o + grp * z.og) * z.p;
        const T* wg = w + grp * z.og * z.kc;
        if (bias)
            for (int64_t o = 0; o < z.og; ++o)
                std::fill(yo + o * z.p + lo, yo + o * z.p + hi, bias[grp * z.og + o]);
        ImageColumns<T> cols(g, x + grp * z.cg * z.hw, ranges.data(), n * z.p + lo);
        gemm_serial_panels<T>(z.og, hi - lo, z.kc, wg, z.kc, 1, cols, yo + lo, z.p, T(1),
                              bias ? T(1) : T(0));
    }
}

template <typename T>
void forward_gemm(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
    if (few_images(g)) return forward_few_images(g, x, w, bias, y);
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    std::vector<Tensor> keep;
    std::vector<PackedA<T>> packed = pack_weight(g, w, false, keep);
    int64_t per_batch = images_per_batch(z.p);
#pragma omp parallel if (macs_of(g) >= kParallelMacs)
    {
        auto [n0, n1] = images_of(g.n, omp_get_thread_num(), omp_get_num_threads());
        for (int64_t grp = 0; grp < g.groups; ++grp)
            for (int64_t b0 = n0; b0 < n1; b0 += per_batch) {
                int64_t cnt = std::min(per_batch, n1 - b0), width = cnt * z.p;
                const T* xg = x + grp * z.cg * z.hw;
                ImageColumns<T> cols(g, xg, ranges.data(), b0 * z.p);
                if (cnt == 1) {  // straight into y
                    T* yo = y + (b0 * g.o + grp * z.og) * z.p;
                    if (bias)
                        for (int64_t o = 0; o < z.og; ++o)
                            std::fill(yo + o * z.p, yo + (o + 1) * z.p, bias[grp * z.og + o]);
                    const T* xi = xg + b0 * g.c * z.hw;
                    gemm_serial_packed_a<T>(packed[size_t(grp)], z.p, xi, z.hw, 1,
                                            is_pointwise(g) ? nullptr : &cols, yo, z.p, T(1),
                                            bias ? T(1) : T(0));
                    continue;
                }
                T* buf = scratch<T>(0, z.og * width);
                gemm_serial_packed_a<T>(packed[size_t(grp)], width, nullptr, 0, 0, &cols, buf,
                                        width, T(1), T(0));
                for (int64_t i = 0; i < cnt; ++i)
                    for (int64_t o = 0; o < z.og; ++o) {
                        T* dst = y + ((b0 + i) * g.o + grp * z.og + o) * z.p;
                        const T* src = buf + o * width + i * z.p;
                        T b = bias ? bias[grp * z.og + o] : T(0);
                        for (int64_t q = 0; q < z.p; ++q) dst[q] = src[q] + b;
                    }
            }
    }
}

// ---- input gradient

// gx += col2im(dcol) for columns [c0, c0 + width) of the (image, output pixel) space, dcol:
// (Kc x width) row-major; gx: image 0's first channel of the group (image stride C H W).
template <typename T>
void col2im(const Conv2dGeometry& g, const ColRange* ranges, const T* dcol, int64_t width,
            int64_t c0, int64_t channels, T* gx) {
    int64_t p = g.ho * g.wo, hw = g.h * g.w;
    for (int64_t row = 0; row < channels * g.kh * g.kw; ++row) {
        int64_t ci = row / (g.kh * g.kw), i = row / g.kw % g.kh, j = row % g.kw;
        const ColRange cr = ranges[j];
        const T* src = dcol + row * width;
        int64_t n = c0 / p, r = c0 % p / g.wo, s = c0 % g.wo;
        for (int64_t col = 0; col < width; s = 0) {
            int64_t len = std::min(width - col, g.wo - s);
            int64_t ih = r * g.stride_h - g.pad_h + i * g.dil_h;
            int64_t a = std::clamp(cr.lo, s, s + len), b = std::clamp(cr.hi, a, s + len);
            if (ih >= 0 && ih < g.h && b > a) {
                T* dst = gx + (n * g.c + ci) * hw + ih * g.w + a * g.stride_w + cr.off;
                const T* in = src + col + (a - s);
                for (int64_t q = 0; q < b - a; ++q) dst[q * g.stride_w] += in[q];
            }
            col += len;
            if (++r == g.ho) r = 0, ++n;
        }
    }
}

// Few images: each image's product cut along its input channels (disjoint planes of gx).
template <typename T>
void backward_input_few_images(const Conv2dGeometry& g, const T* gy, const T* w, T* gx) {
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    int64_t items = g.n * g.groups, chunks = chunks_for(items, z.cg);
#pragma omp parallel for schedule(static)
    for (int64_t it = 0; it < items * chunks; ++it) {
        int64_t item = it / chunks, ch = it % chunks, n = item / g.groups, grp = item % g.groups;
        int64_t c0 = z.cg * ch / chunks, c1 = z.cg * (ch + 1) / chunks;
        if (c1 == c0) continue;
        T* gxg = gx + grp * z.cg * z.hw + c0 * z.hw;  // image 0, channel c0 of the group
        std::fill(gxg + n * g.c * z.hw, gxg + n * g.c * z.hw + (c1 - c0) * z.hw, T(0));
        const T* gyi = gy + (n * g.o + grp * z.og) * z.p;
        const T* wg = w + grp * z.og * z.kc + c0 * z.taps;  // W^T rows: a(k, o) = wg[o Kc + k]
        int64_t m = (c1 - c0) * z.taps;
        int64_t width = std::min(z.p, std::max<int64_t>(64, kDcolElements / m));
        T* dcol = scratch<T>(0, m * width);
        for (int64_t q0 = 0; q0 < z.p; q0 += width) {
            int64_t wd = std::min(width, z.p - q0);
            gemm_serial_strided<T>(m, wd, z.og, wg, 1, z.kc, gyi + q0, z.p, 1, dcol, wd, T(1),
                                   T(0));
            col2im(g, ranges.data(), dcol, wd, n * z.p + q0, c1 - c0, gxg);
        }
    }
}

template <typename T>
void backward_input_gemm(const Conv2dGeometry& g, const T* gy, const T* w, T* gx) {
    if (few_images(g)) return backward_input_few_images(g, gy, w, gx);
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    std::vector<Tensor> keep;
    std::vector<PackedA<T>> packed = pack_weight(g, w, true, keep);  // W^T (Kc x Og)
    int64_t width = std::max<int64_t>(64, kDcolElements / z.kc);
#pragma omp parallel if (macs_of(g) >= kParallelMacs)
    {
        auto [n0, n1] = images_of(g.n, omp_get_thread_num(), omp_get_num_threads());
        std::fill(gx + n0 * g.c * z.hw, gx + n1 * g.c * z.hw, T(0));
        for (int64_t grp = 0; grp < g.groups; ++grp) {
            T* gxg = gx + grp * z.cg * z.hw;
            const T* gyg = gy + grp * z.og * z.p;
            if (is_pointwise(g)) {  // gx[n] = W^T gy[n]: no col2im
                for (int64_t n = n0; n < n1; ++n)
                    gemm_serial_packed_a<T>(packed[size_t(grp)], z.p, gyg + n * g.o * z.p, z.p, 1,
                                            nullptr, gxg + n * g.c * z.hw, z.hw, T(1), T(0));
                continue;
            }
            for (int64_t c0 = n0 * z.p; c0 < n1 * z.p; c0 += width) {
                int64_t wd = std::min(width, n1 * z.p - c0);
                // gy's columns [c0, c0 + wd) as one (Og x wd) matrix
                T* b = scratch<T>(1, z.og * wd);
                for (int64_t col = 0; col < wd;) {
                    int64_t n = (c0 + col) / z.p, q = (c0 + col) % z.p;
                    int64_t len = std::min(wd - col, z.p - q);
                    for (int64_t o = 0; o < z.og; ++o)
                        std::memcpy(b + o * wd + col, gyg + (n * g.o + o) * z.p + q,
                                    size_t(len) * sizeof(T));
                    col += len;
                }
                T* dcol = scratch<T>(0, z.kc * wd);
                gemm_serial_packed_a<T>(packed[size_t(grp)], wd, b, wd, 1, nullptr, dcol, wd, T(1),
                                        T(0));
                col2im(g, ranges.data(), dcol, wd, c0, z.cg, gxg);
            }
        }
    }
}

// ---- weight gradient

// gw rows [o0, o1) of group grp (row stride Kc) += or = (beta) the products of images
// [n0, n1), a batch of images at a time.
template <typename T>
void weight_rows(const Conv2dGeometry& g, const ColRange* ranges, const T* x, const T* gy,
                 int64_t grp, int64_t o0, int64_t o1, int64_t n0, int64_t n1, T* gw, T beta) {
    Sizes z = sizes(g);
    int64_t per_batch = images_per_batch(z.p);
    const T* xg = x + grp * z.cg * z.hw;
    const T* gyg = gy + (grp * z.og + o0) * z.p;
    T* c = gw + (grp * z.og + o0) * z.kc;
    for (int64_t b0 = n0; b0 < n1; b0 += per_batch, beta = T(1)) {
        int64_t cnt = std::min(per_batch, n1 - b0), depth = cnt * z.p;
        const T* a = gyg + b0 * g.o * z.p;
        if (cnt > 1) {
            T* buf = scratch<T>(1, (o1 - o0) * depth);
            gather_images(gyg, g.o * z.p, o1 - o0, z.p, b0, cnt, buf);
            a = buf;
        }
        if (is_pointwise(g) && cnt == 1) {  // col^T = x[n]^T
            gemm_serial_strided<T>(o1 - o0, z.cg, z.p, a, depth, 1, xg + b0 * g.c * z.hw, 1, z.hw,
                                   c, z.kc, T(1), beta);
        } else {
            PixelColumns<T> cols(g, xg, ranges, b0 * z.p);
            gemm_serial_panels<T>(o1 - o0, z.kc, depth, a, depth, 1, cols, c, z.kc, T(1), beta);
        }
    }
}

template <typename T>
void backward_weight_gemm(const Conv2dGeometry& g, const T* x, const T* gy, T* gw) {
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    int64_t threads = omp_get_max_threads();
    if (threads == 1 || macs_of(g) < kParallelMacs) {
        for (int64_t grp = 0; grp < g.groups; ++grp)
            weight_rows(g, ranges.data(), x, gy, grp, 0, z.og, 0, g.n, gw, T(0));
        return;
    }
    if (g.n >= threads) {
        // Images split over threads, each summing into its own copy of gw (thread 0: gw
        // itself), then one pass adds the copies: every panel of col^T is packed once.
        int64_t size = g.o * z.kc;
        std::vector<Tensor> keep;
        T* partial = call_buffer<T>(keep, (threads - 1) * size);
#pragma omp parallel num_threads(int(threads))
        {
            int t = omp_get_thread_num(), team = omp_get_num_threads();
            T* dst = t == 0 ? gw : partial + (t - 1) * size;
            auto [n0, n1] = images_of(g.n, t, team);
            for (int64_t grp = 0; grp < g.groups; ++grp)
                weight_rows(g, ranges.data(), x, gy, grp, 0, z.og, n0, n1, dst, T(0));
#pragma omp barrier
#pragma omp for schedule(static)
            for (int64_t k = 0; k < size; ++k)
                for (int64_t u = 1; u < team; ++u) gw[k] += partial[(u - 1) * size + k];
        }
        return;
    }
    // Few images: output-channel rows split over threads (each packs all of col^T).
    int64_t chunks = chunks_for(g.groups, z.og / 4);
#pragma omp parallel for schedule(static)
    for (int64_t it = 0; it < g.groups * chunks; ++it) {
        int64_t grp = it / chunks, ch = it % chunks;
        int64_t o0 = z.og * ch / chunks, o1 = z.og * (ch + 1) / chunks;
        if (o1 > o0) weight_rows(g, ranges.data(), x, gy, grp, o0, o1, 0, g.n, gw, T(0));
    }
}

bool use_gemm(const Conv2dGeometry& g) { return g.o / g.groups >= kGemmMinChannels; }

// ---- 1x1 with a stride (ResNet's downsample): the pointwise conv of the pixels it reads,
// x[:, :, ::sh, ::sw], gathered once; its input gradient is the pointwise one scattered back,
// zero elsewhere. (Gathering stride-2 pixels into every panel instead cost 1.4-1.7x
// PyTorch's time forward.)

bool is_strided_pointwise(const Conv2dGeometry& g) {
    return g.kh == 1 && g.kw == 1 && g.pad_h == 0 && g.pad_w == 0 &&
           (g.stride_h > 1 || g.stride_w > 1) && use_gemm(g);
}
Conv2dGeometry read_pixels_geometry(const Conv2dGeometry& g) {
    Conv2dGeometry p = g;
    p.h = g.ho, p.w = g.wo, p.stride_h = p.stride_w = 1;
    return p;
}
// f(full, sub) for each pixel a strided 1x1 conv reads: full indexes x (n, c, h, w), sub the
// gathered xs (n, c, ho, wo).
template <typename F>
void for_each_read_pixel(const Conv2dGeometry& g, F f) {
    int64_t hw = g.h * g.w, p = g.ho * g.wo;
#pragma omp parallel for schedule(static) if (g.n * g.c * hw >= (int64_t(1) << 16))
    for (int64_t plane = 0; plane < g.n * g.c; ++plane)
        for (int64_t r = 0; r < g.ho; ++r)
            for (int64_t s = 0; s < g.wo; ++s)
                f(plane * hw + r * g.stride_h * g.w + s * g.stride_w, plane * p + r * g.wo + s);
}
template <typename T>
T* read_pixels(const Conv2dGeometry& g, const T* x, std::vector<Tensor>& keep) {
    T* xs = call_buffer<T>(keep, g.n * g.c * g.ho * g.wo);
    for_each_read_pixel(g, [&](int64_t full, int64_t sub) { xs[sub] = x[full]; });
    return xs;
}
// gx = the gathered pixels' gradient gxs put back, zero at the pixels the conv skips
template <typename T>
void scatter_pixels(const Conv2dGeometry& g, const T* gxs, T* gx) {
    std::fill(gx, gx + g.n * g.c * g.h * g.w, T(0));
    for_each_read_pixel(g, [&](int64_t full, int64_t sub) { gx[full] = gxs[sub]; });
}

template <typename T>
void relu_in_place(T* y, int64_t n) {
#pragma omp parallel for if (n > (int64_t(1) << 16))
    for (int64_t i = 0; i < n; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
}

}  // namespace

void conv2d(const Conv2dGeometry& g, const Tensor& x, const Tensor& weight, const Tensor* bias,
            const Tensor& y) {
    visit_float(x.dtype(), "conv2d", [&]<typename T>() {
        const T* b = bias ? bias->data<T>() : nullptr;
        const T* w = weight.data<T>();
        std::vector<Tensor> keep;
        if constexpr (std::is_same_v<T, float>)
            if (winograd_applies(g)) return forward_winograd(g, x.data<T>(), w, b, y.data<T>());
        if (is_strided_pointwise(g))
            forward_gemm<T>(read_pixels_geometry(g), read_pixels(g, x.data<T>(), keep), w, b,
                            y.data<T>());
        else if (nhwc_applies(g))
            forward_nhwc<T>(g, x.data<T>(), w, b, y.data<T>());
        else if (use_gemm(g))
            forward_gemm<T>(g, x.data<T>(), w, b, y.data<T>());
        else
            forward_direct<T>(g, x.data<T>(), w, b, y.data<T>());
        if (g.relu) relu_in_place(y.data<T>(), y.numel());  // Winograd's is in its output pass
    });
}

void conv2d_backward_input(const Conv2dGeometry& g, const Tensor& gy, const Tensor& weight,
                           const Tensor& gx) {
    visit_float(gy.dtype(), "conv2d", [&]<typename T>() {
        const T* w = weight.data<T>();
        if constexpr (std::is_same_v<T, float>)
            if (winograd_applies(g))
                return backward_input_winograd(g, gy.data<T>(), w, gx.data<T>());
        if (is_strided_pointwise(g)) {
            std::vector<Tensor> keep;
            T* gxs = call_buffer<T>(keep, g.n * g.c * g.ho * g.wo);
            backward_input_gemm<T>(read_pixels_geometry(g), gy.data<T>(), w, gxs);
            scatter_pixels(g, gxs, gx.data<T>());
        } else if (nhwc_input_gradient_applies(g)) {
            backward_input_nhwc<T>(g, gy.data<T>(), w, gx.data<T>());
        } else if (use_gemm(g)) {
            backward_input_gemm<T>(g, gy.data<T>(), w, gx.data<T>());
        } else {
            backward_input_direct<T>(g, gy.data<T>(), w, gx.data<T>());
        }
    });
}

void conv2d_backward_weight(const Conv2dGeometry& g, const Tensor& x, const Tensor& gy,
                            const Tensor& gw) {
    visit_float(x.dtype(), "conv2d", [&]<typename T>() {
        std::vector<Tensor> keep;
        if constexpr (std::is_same_v<T, float>)
            if (winograd_applies(g))
                return backward_weight_winograd(g, x.data<T>(), gy.data<T>(), gw.data<T>());
        if (is_strided_pointwise(g))
            backward_weight_gemm<T>(read_pixels_geometry(g), read_pixels(g, x.data<T>(), keep),
                                    gy.data<T>(), gw.data<T>());
        else if (nhwc_applies(g))
            backward_weight_nhwc<T>(g, x.data<T>(), gy.data<T>(), gw.data<T>());
        else if (use_gemm(g))
            backward_weight_gemm<T>(g, x.data<T>(), gy.data<T>(), gw.data<T>());
        else
            backward_weight_direct<T>(g, x.data<T>(), gy.data<T>(), gw.data<T>());
    });
}

}  // namespace marrow::cpu
