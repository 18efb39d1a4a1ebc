// CPU conv2d: forward, input gradient and weight gradient on NCHW tensors.
//
// Two paths. The GEMM path (any group with at least kGemmMinChannels output channels) runs
// each image of each group as one product on the blocked GEMM (tensor/cpu/gemm.cpp), one
// image per thread:
//   forward   y[n, g] (Og x P) = W[g] (Og x Kc) @ col(x[n, g]) (Kc x P)
//   weight    gw[g] (Og x Kc)  = sum_n gy[n, g] (Og x P) @ col(x[n, g])^T (P x Kc)
//   input     dcol (Kc x P)    = W[g]^T (Kc x Og) @ gy[n, g] (Og x P), then col2im into gx
// with P = Ho Wo output pixels, Kc = Cg kH kW and col the im2col matrix (row (ci, i, j),
// column (r, s): x[ci, r sh - ph + i dh, s sw - pw + j dw], zero outside the image). col is
// never written out: it is an implicit B operand (PanelSource) that packs the GEMM's KC x NR
// panels straight from the image, a contiguous copy per output row for stride 1 (forward) or
// a transposing gather (weight gradient). A 1x1 stride-1 unpadded conv is a plain GEMM on x.
// The input gradient writes dcol in blocks of output rows that stay in L2 and scatter-adds
// each block (col2im).
// The direct path (depthwise and other groups with few output channels, where a GEMM with
// M = Og would waste its 12-row tiles) loops over kernel taps with the output row innermost.
//
// Why NCHW throughout (no internal NHWC): the API is NCHW and ResNet-18's layers at batch 32
// are large enough products per image (M = Og >= 64, N = P >= 25, K = Kc >= 147) for the GEMM's
// tiles; a layout change would cost two extra passes over x and y per call, and the
// per-image split needs no reduction except for the weight gradient.
// The readable oracle: tensor/cpu/conv_reference.h (tests/test_conv.cpp).
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/gemm.h"

namespace marrow::cpu {
namespace {

// Groups with fewer output channels than this take the direct path.
constexpr int64_t kGemmMinChannels = 8;
// Products smaller than this many multiply-adds run on one thread.
constexpr double kParallelMacs = double(1 << 18);

struct Sizes {
    int64_t cg, og, taps, kc, p, hw;  // C/groups, O/groups, kH kW, Cg kH kW, Ho Wo, H W
};
Sizes sizes(const Conv2dGeometry& g) {
    int64_t cg = g.c / g.groups, taps = g.kh * g.kw;
    return {cg, g.o / g.groups, taps, cg * taps, g.ho * g.wo, g.h * g.w};
}

// Output columns s in [lo, hi) are the ones whose tap j reads inside the image: 0 <= s sw + off
// < w with off = j dw - pw.
struct ColRange {
    int64_t lo, hi, off;
};
std::vector<ColRange> col_ranges(const Conv2dGeometry& g) {
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

bool is_pointwise(const Conv2dGeometry& g) {
    return g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 &&
           g.pad_w == 0;
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
            std::memcpy(out + (a - s0), row + a + cr.off, size_t(b - a) * sizeof(T));
        else
            for (int64_t s = a; s < b; ++s) out[(s - s0) * step] = row[s * g.stride_w + cr.off];
    }
    for (int64_t s = b; s < s0 + len; ++s) out[(s - s0) * step] = T(0);
}

// col(x[n, g]) (Kc x P) as the forward's B operand: each panel row k = (ci, i, j) is the tap's
// input values for the panel's output pixels, output row by output row.
template <typename T>
class ImageColumns final : public PanelSource<T> {
public:
    ImageColumns(const Conv2dGeometry& g, const T* x, const ColRange* ranges, int64_t first_col)
        : g_(g), x_(x), ranges_(ranges), first_(first_col) {}
    void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nr, int64_t nrw,
              T* dst) const override {
        j0 += first_;
        int64_t ci = k0 / (g_.kh * g_.kw), i = k0 / g_.kw % g_.kh, j = k0 % g_.kw;
        for (int64_t k = 0; k < kc; ++k) {
            T* d = dst + k * nrw;
            const T* plane = x_ + ci * g_.h * g_.w;
            for (int64_t col = 0, r = j0 / g_.wo, s = j0 % g_.wo; col < nr; s = 0, ++r) {
                int64_t len = std::min(nr - col, g_.wo - s);
                tap_segment(g_, plane, ranges_[j], r, i, s, len, d + col, 1);
                col += len;
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

// col(x[n, g])^T (P x Kc) as the weight gradient's B operand: panel column (ci, i, j) holds
// the tap's input values down the panel's output pixels (a transposing gather).
template <typename T>
class PixelColumns final : public PanelSource<T> {
public:
    PixelColumns(const Conv2dGeometry& g, const T* x, const ColRange* ranges)
        : g_(g), x_(x), ranges_(ranges) {}
    void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nr, int64_t nrw,
              T* dst) const override {
        int64_t ci = j0 / (g_.kh * g_.kw), i = j0 / g_.kw % g_.kh, j = j0 % g_.kw;
        for (int64_t col = 0; col < nr; ++col) {
            const T* plane = x_ + ci * g_.h * g_.w;
            for (int64_t k = 0, r = k0 / g_.wo, s = k0 % g_.wo; k < kc; s = 0, ++r) {
                int64_t len = std::min(kc - k, g_.wo - s);
                tap_segment(g_, plane, ranges_[j], r, i, s, len, dst + k * nrw + col, nrw);
                k += len;
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
};

// Work split: `items` independent products; when there are fewer than threads, each is cut in
// `chunks` pieces along a dimension of `extent`.
int64_t chunks_for(int64_t items, int64_t extent) {
    int64_t threads = omp_get_max_threads();
    if (items >= threads) return 1;
    return std::clamp<int64_t>((threads + items - 1) / items, 1, std::max<int64_t>(extent, 1));
}

// ---- forward

template <typename T>
void forward_gemm(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    int64_t items = g.n * g.groups, chunks = chunks_for(items, z.p / 32);
    double macs = double(g.n) * double(g.o) * double(z.p) * double(z.kc);
#pragma omp parallel for schedule(static) if (macs >= kParallelMacs)
    for (int64_t it = 0; it < items * chunks; ++it) {
        int64_t item = it / chunks, ch = it % chunks, n = item / g.groups, grp = item % g.groups;
        int64_t lo = z.p * ch / chunks, hi = z.p * (ch + 1) / chunks;
        if (hi == lo) continue;
        T* yo = y + (n * g.o + grp * z.og) * z.p;
        const T* xi = x + (n * g.c + grp * z.cg) * z.hw;
        const T* wg = w + grp * z.og * z.kc;
        if (bias)
            for (int64_t o = 0; o < z.og; ++o)
                std::fill(yo + o * z.p + lo, yo + o * z.p + hi, bias[grp * z.og + o]);
        T beta = bias ? T(1) : T(0);
        if (is_pointwise(g)) {
            gemm_serial_strided<T>(z.og, hi - lo, z.cg, wg, z.kc, 1, xi + lo, z.hw, 1, yo + lo,
                                   z.p, T(1), beta);
        } else {
            ImageColumns<T> cols(g, xi, ranges.data(), lo);
            gemm_serial_panels<T>(z.og, hi - lo, z.kc, wg, z.kc, 1, cols, yo + lo, z.p, T(1),
                                  beta);
        }
    }
}

template <typename T>
void forward_direct(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    double macs = double(g.n) * double(g.o) * double(z.p) * double(z.kc);
#pragma omp parallel for schedule(static) if (macs >= kParallelMacs)
    for (int64_t item = 0; item < g.n * g.o; ++item) {
        int64_t n = item / g.o, o = item % g.o, grp = o / z.og;
        T* yp = y + item * z.p;
        std::fill(yp, yp + z.p, bias ? bias[o] : T(0));
        for (int64_t ci = 0; ci < z.cg; ++ci) {
            const T* plane = x + (n * g.c + grp * z.cg + ci) * z.hw;
            for (int64_t i = 0; i < g.kh; ++i)
                for (int64_t j = 0; j < g.kw; ++j) {
                    T wv = w[((o * z.cg + ci) * g.kh + i) * g.kw + j];
                    const ColRange cr = ranges[size_t(j)];
                    for (int64_t r = 0; r < g.ho; ++r) {
                        int64_t ih = r * g.stride_h - g.pad_h + i * g.dil_h;
                        if (ih < 0 || ih >= g.h) continue;
                        const T* row = plane + ih * g.w + cr.lo * g.stride_w + cr.off;
                        T* out = yp + r * g.wo + cr.lo;
                        for (int64_t s = 0; s < cr.hi - cr.lo; ++s)
                            out[s] += wv * row[s * g.stride_w];
                    }
                }
        }
    }
}

// ---- input gradient

// gx[ci, ...] += dcol rows [ci0 taps, ...) for output rows [r0, r0 + rows): the col2im scatter
// of one block (dcol: (channels taps) x (rows wo), row-major).
template <typename T>
void col2im_block(const Conv2dGeometry& g, const ColRange* ranges, const T* dcol, int64_t channels,
                  int64_t r0, int64_t rows, T* gx) {
    int64_t width = rows * g.wo;
    for (int64_t ci = 0; ci < channels; ++ci) {
        T* plane = gx + ci * g.h * g.w;
        for (int64_t i = 0; i < g.kh; ++i)
            for (int64_t j = 0; j < g.kw; ++j) {
                const T* src = dcol + ((ci * g.kh + i) * g.kw + j) * width;
                const ColRange cr = ranges[j];
                for (int64_t r = r0; r < r0 + rows; ++r) {
                    int64_t ih = r * g.stride_h - g.pad_h + i * g.dil_h;
                    if (ih < 0 || ih >= g.h) continue;
                    T* row = plane + ih * g.w + cr.lo * g.stride_w + cr.off;
                    const T* in = src + (r - r0) * g.wo + cr.lo;
                    for (int64_t s = 0; s < cr.hi - cr.lo; ++s) row[s * g.stride_w] += in[s];
                }
            }
    }
}

template <typename T>
void backward_input_gemm(const Conv2dGeometry& g, const T* gy, const T* w, T* gx) {
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    // W[g]^T (Kc x Og) per group, row-major, so the GEMM packs it with unit-stride reads.
    std::vector<T> wt(size_t(g.groups * z.kc * z.og));
    for (int64_t grp = 0; grp < g.groups; ++grp)
        for (int64_t o = 0; o < z.og; ++o)
            for (int64_t k = 0; k < z.kc; ++k)
                wt[size_t((grp * z.kc + k) * z.og + o)] = w[(grp * z.og + o) * z.kc + k];
    int64_t items = g.n * g.groups, chunks = chunks_for(items, z.cg);
    double macs = double(g.n) * double(g.o) * double(z.p) * double(z.kc);
#pragma omp parallel for schedule(static) if (macs >= kParallelMacs)
    for (int64_t it = 0; it < items * chunks; ++it) {
        int64_t item = it / chunks, ch = it % chunks, n = item / g.groups, grp = item % g.groups;
        int64_t c0 = z.cg * ch / chunks, c1 = z.cg * (ch + 1) / chunks;  // input channels
        if (c1 == c0) continue;
        T* gxi = gx + (n * g.c + grp * z.cg + c0) * z.hw;
        const T* gyi = gy + (n * g.o + grp * z.og) * z.p;
        const T* wti = wt.data() + (grp * z.kc + c0 * z.taps) * z.og;
        if (is_pointwise(g)) {
            gemm_serial_strided<T>(c1 - c0, z.p, z.og, wti, z.og, 1, gyi, z.p, 1, gxi, z.hw, T(1),
                                   T(0));
            continue;
        }
        std::fill(gxi, gxi + (c1 - c0) * z.hw, T(0));
        // Blocks of output rows whose dcol (m x rows wo) fits in 256 KB of L2.
        int64_t m = (c1 - c0) * z.taps;
        int64_t rows = std::clamp<int64_t>((int64_t(256) << 10) / int64_t(sizeof(T)) / (m * g.wo),
                                           1, g.ho);
        thread_local std::vector<T> dcol;
        dcol.resize(size_t(m * rows * g.wo));
        for (int64_t r0 = 0; r0 < g.ho; r0 += rows) {
            int64_t nr = std::min(rows, g.ho - r0);
            gemm_serial_strided<T>(m, nr * g.wo, z.og, wti, z.og, 1, gyi + r0 * g.wo, z.p, 1,
                                   dcol.data(), nr * g.wo, T(1), T(0));
            col2im_block(g, ranges.data(), dcol.data(), c1 - c0, r0, nr, gxi);
        }
    }
}

template <typename T>
void backward_input_direct(const Conv2dGeometry& g, const T* gy, const T* w, T* gx) {
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    double macs = double(g.n) * double(g.o) * double(z.p) * double(z.kc);
#pragma omp parallel for schedule(static) if (macs >= kParallelMacs)
    for (int64_t item = 0; item < g.n * g.c; ++item) {  // one input plane each: no races
        int64_t n = item / g.c, c = item % g.c, grp = c / z.cg, ci = c % z.cg;
        T* plane = gx + item * z.hw;
        std::fill(plane, plane + z.hw, T(0));
        for (int64_t o = grp * z.og; o < (grp + 1) * z.og; ++o) {
            const T* gyp = gy + (n * g.o + o) * z.p;
            for (int64_t i = 0; i < g.kh; ++i)
                for (int64_t j = 0; j < g.kw; ++j) {
                    T wv = w[((o * z.cg + ci) * g.kh + i) * g.kw + j];
                    const ColRange cr = ranges[size_t(j)];
                    for (int64_t r = 0; r < g.ho; ++r) {
                        int64_t ih = r * g.stride_h - g.pad_h + i * g.dil_h;
                        if (ih < 0 || ih >= g.h) continue;
                        T* row = plane + ih * g.w + cr.lo * g.stride_w + cr.off;
                        const T* in = gyp + r * g.wo + cr.lo;
                        for (int64_t s = 0; s < cr.hi - cr.lo; ++s)
                            row[s * g.stride_w] += wv * in[s];
                    }
                }
        }
    }
}

// ---- weight gradient

// gw rows [o0, o1) of group grp (row stride Kc) from images [n0, n1): beta 0 overwrites.
template <typename T>
void weight_rows(const Conv2dGeometry& g, const ColRange* ranges, const T* x, const T* gy,
                 int64_t grp, int64_t o0, int64_t o1, int64_t n0, int64_t n1, T* gw, T beta) {
    Sizes z = sizes(g);
    for (int64_t n = n0; n < n1; ++n, beta = T(1)) {
        const T* gyi = gy + (n * g.o + grp * z.og + o0) * z.p;
        const T* xi = x + (n * g.c + grp * z.cg) * z.hw;
        T* c = gw + (grp * z.og + o0) * z.kc;
        if (is_pointwise(g)) {
            gemm_serial_strided<T>(o1 - o0, z.cg, z.p, gyi, z.p, 1, xi, 1, z.hw, c, z.kc, T(1),
                                   beta);
        } else {
            PixelColumns<T> cols(g, xi, ranges);
            gemm_serial_panels<T>(o1 - o0, z.kc, z.p, gyi, z.p, 1, cols, c, z.kc, T(1), beta);
        }
    }
}

template <typename T>
void backward_weight_gemm(const Conv2dGeometry& g, const T* x, const T* gy, T* gw) {
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    int64_t threads = omp_get_max_threads();
    double macs = double(g.n) * double(g.o) * double(z.p) * double(z.kc);
    if (threads == 1 || macs < kParallelMacs) {
        for (int64_t grp = 0; grp < g.groups; ++grp)
            weight_rows(g, ranges.data(), x, gy, grp, 0, z.og, 0, g.n, gw, T(0));
        return;
    }
    if (g.n >= threads) {
        // Images split over threads, each summing into its own copy of gw (thread 0: gw
        // itself), then one pass adds the copies: every panel of col^T is packed once.
        int64_t size = g.o * z.kc;
        std::vector<T> partial(size_t((threads - 1) * size));
#pragma omp parallel num_threads(int(threads))
        {
            int64_t t = omp_get_thread_num(), team = omp_get_num_threads();
            T* dst = t == 0 ? gw : partial.data() + (t - 1) * size;
            int64_t n0 = g.n * t / team, n1 = g.n * (t + 1) / team;
            for (int64_t grp = 0; grp < g.groups; ++grp) {
                if (n1 > n0)
                    weight_rows(g, ranges.data(), x, gy, grp, 0, z.og, n0, n1, dst, T(0));
                else
                    std::fill(dst + grp * z.og * z.kc, dst + (grp + 1) * z.og * z.kc, T(0));
            }
#pragma omp barrier
#pragma omp for schedule(static)
            for (int64_t k = 0; k < size; ++k)
                for (int64_t u = 1; u < team; ++u) gw[k] += partial[size_t((u - 1) * size + k)];
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

template <typename T>
void backward_weight_direct(const Conv2dGeometry& g, const T* x, const T* gy, T* gw) {
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    double macs = double(g.n) * double(g.o) * double(z.p) * double(z.kc);
#pragma omp parallel for schedule(static) if (macs >= kParallelMacs)
    for (int64_t item = 0; item < g.o * z.kc; ++item) {  // one weight each
        int64_t o = item / z.kc, ci = item / z.taps % z.cg, i = item / g.kw % g.kh,
                j = item % g.kw;
        const ColRange cr = ranges[size_t(j)];
        T sum = 0;
        for (int64_t n = 0; n < g.n; ++n) {
            const T* gyp = gy + (n * g.o + o) * z.p;
            const T* plane = x + (n * g.c + o / z.og * z.cg + ci) * z.hw;
            for (int64_t r = 0; r < g.ho; ++r) {
                int64_t ih = r * g.stride_h - g.pad_h + i * g.dil_h;
                if (ih < 0 || ih >= g.h) continue;
                const T* row = plane + ih * g.w + cr.lo * g.stride_w + cr.off;
                const T* go = gyp + r * g.wo + cr.lo;
                for (int64_t s = 0; s < cr.hi - cr.lo; ++s) sum += go[s] * row[s * g.stride_w];
            }
        }
        gw[item] = sum;
    }
}

bool use_gemm(const Conv2dGeometry& g) { return g.o / g.groups >= kGemmMinChannels; }

}  // namespace

void conv2d(const Conv2dGeometry& g, const Tensor& x, const Tensor& weight, const Tensor* bias,
            const Tensor& y) {
    visit_float(x.dtype(), "conv2d", [&]<typename T>() {
        const T* b = bias ? bias->data<T>() : nullptr;
        if (use_gemm(g))
            forward_gemm<T>(g, x.data<T>(), weight.data<T>(), b, y.data<T>());
        else
            forward_direct<T>(g, x.data<T>(), weight.data<T>(), b, y.data<T>());
    });
}

void conv2d_backward_input(const Conv2dGeometry& g, const Tensor& gy, const Tensor& weight,
                           const Tensor& gx) {
    visit_float(gy.dtype(), "conv2d", [&]<typename T>() {
        if (use_gemm(g))
            backward_input_gemm<T>(g, gy.data<T>(), weight.data<T>(), gx.data<T>());
        else
            backward_input_direct<T>(g, gy.data<T>(), weight.data<T>(), gx.data<T>());
    });
}

void conv2d_backward_weight(const Conv2dGeometry& g, const Tensor& x, const Tensor& gy,
                            const Tensor& gw) {
    visit_float(x.dtype(), "conv2d", [&]<typename T>() {
        if (use_gemm(g))
            backward_weight_gemm<T>(g, x.data<T>(), gy.data<T>(), gw.data<T>());
        else
            backward_weight_direct<T>(g, x.data<T>(), gy.data<T>(), gw.data<T>());
    });
}

}  // namespace marrow::cpu
