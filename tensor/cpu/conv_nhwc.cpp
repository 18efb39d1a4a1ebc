// CPU conv2d, the channels-last direct path (groups = 1, at least kNhwcMinChannels input
// channels, a kernel wider than 1x1 or many channels on small images): the convolutions of a
// ResNet past its stem.
//
// Why: the implicit GEMM (conv.cpp) packs an im2col panel per image and K slice, a gather
// of short row runs (36 floats at 64 x 36 x 36, 5 at 512 x 5 x 5) that cost 25-35% of the
// time next to a micro-kernel that does only Og multiply-adds per packed element (the
// measurements: docs/design.md, "Convolution"). Here nothing of the input is packed:
//   - x is copied once into a zero-padded channels-last buffer xp (n, hp, wp, c), so the c
//     inputs of any pixel and tap are one contiguous run and padding needs no branch;
//   - an MR x NR tile of y (MR output pixels, NR output channels) is accumulated in registers
//     over every tap and input channel: per step it loads NR weights as vectors (the weight
//     is packed once per call as [o block][tap][ci][NR]) and broadcasts one input value per
//     pixel straight from xp, through one pointer per pixel, so a tile may span output rows
//     and images (every micro-tile is full but the batch's last);
//   - the tile goes to y (NCHW) transposed, with the bias.
// The input gradient is the same loop: at stride 1, gx = conv(gy zero-padded by (k - 1) d - p,
// the weight with taps flipped and in/out channels swapped); at stride s, one such conv per
// output phase (h mod s, w mod s) over the taps that reach it (backward_input_nhwc). The weight
// gradient is the GEMM gw'(O x taps C) = gy (O x N P) @ X (N P x taps C), X's row for pixel q
// being the taps' channel runs of xp (packed by contiguous copies), then gw'[o][t][c] is
// permuted to gw[o][c][t].
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "tensor/cpu/conv_common.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/isa.h"
#include "tensor/factory.h"

namespace marrow::cpu::conv {
namespace {

// The register tile per ISA: MR pixels x NR output channels (AVX-512: 12 x 32 floats in 24
// of 32 zmm; AVX2 and baseline: 6 x 16 in 12 of 16 ymm), as the GEMM's micro-kernel.
template <typename T, int MR_, int NR_, int VecBytes_>
struct Tile {
    static constexpr int MR = MR_, NR = NR_, VecBytes = VecBytes_;
};
template <typename T>
using Avx512Tile = Tile<T, 12, 128 / int(sizeof(T)), 64>;
template <typename T>
using Avx2Tile = Tile<T, 6, 64 / int(sizeof(T)), 32>;

template <typename T, int Bytes>
struct VecOf {
    typedef T type __attribute__((vector_size(Bytes)));
};

// out (MR x NR, row-major) = sum over taps t and channels k of
//   rows[r][tap_offsets[t] + k] * w[(t c + k) NR + j]
template <typename T, typename S>
[[gnu::always_inline]] inline void tile_body(const T* const* rows, const int64_t* tap_offsets,
                                             int64_t taps, int64_t c, const T* __restrict w,
                                             T* __restrict out) {
    using V = typename VecOf<T, S::VecBytes>::type;
    constexpr int kW = int(S::VecBytes / sizeof(T)), kCols = S::NR / kW;
    V acc[S::MR][kCols] = {};
    const V ones = V{} + T(1);
    for (int64_t t = 0; t < taps; ++t) {
        const T* p[S::MR];
        for (int r = 0; r < S::MR; ++r) p[r] = rows[r] + tap_offsets[t];
#pragma GCC unroll 2
        for (int64_t k = 0; k < c; ++k) {
            V bv[kCols];
            for (int j = 0; j < kCols; ++j) std::memcpy(&bv[j], w + j * kW, sizeof(V));
            for (int r = 0; r < S::MR; ++r) {
                V av = ones * p[r][k];
                for (int j = 0; j < kCols; ++j) acc[r][j] += av * bv[j];
            }
            w += S::NR;
        }
    }
    for (int r = 0; r < S::MR; ++r)
        for (int j = 0; j < kCols; ++j)
            std::memcpy(out + r * S::NR + j * kW, &acc[r][j], sizeof(V));
}

#pragma GCC diagnostic ignored "-Wpsabi"
template <typename T>
MARROW_TARGET_AVX512 void tile_avx512(const T* const* rows, const int64_t* offs, int64_t taps,
                                      int64_t c, const T* w, T* out) {
    tile_body<T, Avx512Tile<T>>(rows, offs, taps, c, w, out);
}
template <typename T>
MARROW_TARGET_AVX2 void tile_avx2(const T* const* rows, const int64_t* offs, int64_t taps,
                                  int64_t c, const T* w, T* out) {
    tile_body<T, Avx2Tile<T>>(rows, offs, taps, c, w, out);
}
template <typename T>
void tile_base(const T* const* rows, const int64_t* offs, int64_t taps, int64_t c, const T* w,
               T* out) {
    tile_body<T, Avx2Tile<T>>(rows, offs, taps, c, w, out);
}

}  // namespace

template <typename T>
TileChoice tile_choice() {
    if (cpu_isa() == Isa::avx512) return {Avx512Tile<T>::MR, Avx512Tile<T>::NR};
    return {Avx2Tile<T>::MR, Avx2Tile<T>::NR};
}
template <typename T>
TileKernel<T> tile_kernel() {
    return for_isa<TileKernel<T>>(tile_avx512<T>, tile_avx2<T>, tile_base<T>);
}

namespace {

// y (n, o, ho, wo) = the convolution of the zero-padded channels-last xp (n, hp, wp, c): no
// padding left to apply, output pixel (r, s) reads xp rows r sh + i dh, columns s sw + j dw.
struct DirectGeometry {
    int64_t n, c, hp, wp, o, ho, wo, kh, kw, sh, sw, dh, dw;
};

// Element (o, ci, tap) of the convolution's weight, as strides into a tensor of `taps` taps
// per (o, ci): the forward reads W (o, c, kh, kw) as it is; the input gradient reads W with
// o and c swapped.
struct WeightView {
    int64_t o_stride, c_stride, taps;
};

// One tap of a direct convolution: where it reads, relative to an output pixel's start in xp,
// and which tap of the weight (i kw + j) it multiplies.
struct Tap {
    int64_t offset, weight_tap;
};

// Where output pixel (image n, row u, column v) of channel o goes in y:
// y + (n O + o) plane + first + u row + v col.
struct OutputMap {
    int64_t plane, first, row, col;
};

// The weight packed for tile_body: block b holds output channels [b NR, b NR + NR) as
// [tap][ci][NR] (channels past o zero). 16 input channels at a time, the block's NR source
// runs (taps floats per channel) are first copied into an L1 buffer: read in place, NR rows
// 18 KB apart (512 x 3 x 3) fall into 2 of L1's 64 sets and evicted each other (10-13% of
// a 512-channel conv).
template <typename T>
const T* pack_weight(const DirectGeometry& d, const T* w, WeightView v,
                     const std::vector<Tap>& tap_list, int nr, std::vector<Tensor>& keep) {
    constexpr int64_t kChannels = 16;
    int64_t taps = int64_t(tap_list.size()), blocks = (d.o + nr - 1) / nr;
    int64_t block = taps * d.c * nr, src_taps = v.taps;
    keep.push_back(empty({blocks * block}, dtype_v<T>));
    T* dst = keep.back().data<T>();
#pragma omp parallel for schedule(static) if (blocks * block >= (int64_t(1) << 16))
    for (int64_t b = 0; b < blocks; ++b) {
        int64_t cols = std::min<int64_t>(nr, d.o - b * nr);
        std::vector<T> local(size_t(nr * kChannels * src_taps));  // [j][ci - c0][tap]
        for (int64_t c0 = 0; c0 < d.c; c0 += kChannels) {
            int64_t cc = std::min(kChannels, d.c - c0);
            for (int64_t j = 0; j < cols; ++j) {
                const T* src = w + (b * nr + j) * v.o_stride + c0 * v.c_stride;
                T* to = &local[size_t(j * kChannels * src_taps)];
                if (v.c_stride == src_taps)  // the forward's weight: the channels' taps in a row
                    std::memcpy(to, src, size_t(cc * src_taps) * sizeof(T));
                else
                    for (int64_t ci = 0; ci < cc; ++ci)
                        for (int64_t t = 0; t < src_taps; ++t)
                            to[ci * src_taps + t] = src[ci * v.c_stride + t];
            }
            for (int64_t ci = 0; ci < cc; ++ci)
                for (int64_t t = 0; t < taps; ++t) {
                    T* out = dst + b * block + (t * d.c + c0 + ci) * nr;
                    int64_t tap = tap_list[size_t(t)].weight_tap;
                    for (int64_t j = 0; j < cols; ++j)
                        out[j] = local[size_t((j * kChannels + ci) * src_taps + tap)];
                    for (int64_t j = cols; j < nr; ++j) out[j] = T(0);
                }
        }
    }
    return dst;
}

template <typename T>
void transpose16_scalar(const T* src, int64_t stride, T* const* dst) {
    for (int j = 0; j < 16; ++j)
        for (int k = 0; k < 16; ++k) dst[j][k] = src[k * stride + j];
}
// In registers, four rounds of two-source shuffles (pairs of elements, of pairs, of 128-bit
// lanes, of halves); the rounds leave pixels 1 <-> 2 swapped within each group of 4.
typedef float Floats16 __attribute__((vector_size(64)));
MARROW_TARGET_AVX512 void transpose16_avx512(const float* src, int64_t stride, float* const* dst) {
    Floats16 r[16], t[16];
    for (int k = 0; k < 16; ++k) std::memcpy(&r[k], src + k * stride, sizeof(Floats16));
    for (int i = 0; i < 16; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12,
                                       28, 13, 29);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11,
                                           27, 14, 30, 15, 31);
    }
    for (int i = 0; i < 16; i += 4)
        for (int h = 0; h < 2; ++h) {
            r[i + h] = __builtin_shufflevector(t[i + h], t[i + h + 2], 0, 1, 16, 17, 4, 5, 20, 21,
                                               8, 9, 24, 25, 12, 13, 28, 29);
            r[i + h + 2] = __builtin_shufflevector(t[i + h], t[i + h + 2], 2, 3, 18, 19, 6, 7, 22,
                                                   23, 10, 11, 26, 27, 14, 15, 30, 31);
        }
    for (int i = 0; i < 16; i += 8)
        for (int h = 0; h < 4; ++h) {
            t[i + h] = __builtin_shufflevector(r[i + h], r[i + h + 4], 0, 1, 2, 3, 16, 17, 18, 19,
                                               8, 9, 10, 11, 24, 25, 26, 27);
            t[i + h + 4] = __builtin_shufflevector(r[i + h], r[i + h + 4], 4, 5, 6, 7, 20, 21, 22,
                                                   23, 12, 13, 14, 15, 28, 29, 30, 31);
        }
    for (int h = 0; h < 8; ++h) {
        r[h] = __builtin_shufflevector(t[h], t[h + 8], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20,
                                       21, 22, 23);
        r[h + 8] = __builtin_shufflevector(t[h], t[h + 8], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26,
                                           27, 28, 29, 30, 31);
    }
    for (int m = 0; m < 16; ++m) {
        int pixel = (m & ~3) | ((m & 1) << 1) | ((m >> 1) & 1);
        std::memcpy(dst[pixel], &r[m], sizeof(Floats16));
    }
}
}  // namespace

template <typename T>
Transpose16<T> transpose16() {
    if constexpr (std::is_same_v<T, float>)
        if (cpu_isa() == Isa::avx512) return transpose16_avx512;
    return transpose16_scalar<T>;
}

namespace {

// y[image, o0 + j, pixel q..] = tile rows (pixels q0 .. q0 + valid) of columns j < cols, plus
// the bias. tile: 16 rows of nr (rows past MR unused). With nr a multiple of 16 the tile is
// first transposed 16 x 16 at a time (channel j's pixels contiguous in by_channel), so each
// channel's run of y is a vector copy; element by element it cost 4-5% of a 3x3 conv.
template <typename T>
void store_tile(const DirectGeometry& d, const OutputMap& out, const T* tile, int nr, int64_t q0,
                int64_t valid, int64_t o0, int64_t cols, const T* bias, T* y,
                Transpose16<T> transpose, T* by_channel) {
    bool transposed = nr % 16 == 0;
    if (transposed)
        for (int64_t c0 = 0; c0 < nr; c0 += 16) {
            T* to[16];
            for (int64_t j = 0; j < 16; ++j) to[j] = by_channel + (c0 + j) * 16;
            transpose(tile + c0, nr, to);
        }
    int64_t p = d.ho * d.wo;
    // an image's pixels contiguous in y (y is the whole output): a run per image
    bool dense = out.plane == p && out.first == 0 && out.row == d.wo && out.col == 1;
    for (int64_t r = 0; r < valid;) {
        int64_t q = q0 + r, n = q / p, first = q % p;
        // the pixels of image n (dense), or of its output row, `step` apart in y
        int64_t run = std::min(valid - r, dense ? p - first : d.wo - first % d.wo);
        int64_t step = dense ? 1 : out.col;
        T* dst = y + (n * d.o + o0) * out.plane + out.first + first / d.wo * out.row +
                 first % d.wo * out.col;
        for (int64_t j = 0; j < cols; ++j) {
            T b = bias ? bias[o0 + j] : T(0);
            T* dj = dst + j * out.plane;
            if (transposed)
                for (int64_t u = 0; u < run; ++u) dj[u * step] = by_channel[j * 16 + r + u] + b;
            else
                for (int64_t u = 0; u < run; ++u) dj[u * step] = tile[(r + u) * nr + j] + b;
        }
        r += run;
    }
}

// y (through `out`) = the convolution of xp over the taps in tap_list (pixel (u, v) of the
// output grid starts at xp's row u sh, column v sw).
template <typename T>
void direct_conv(const DirectGeometry& d, const T* xp, const std::vector<Tap>& tap_list, const T* w,
                 WeightView view, const T* bias, T* y, const OutputMap& out) {
    TileKernel<T> kernel = tile_kernel<T>();
    Transpose16<T> transpose = transpose16<T>();
    const TileChoice tile_shape = tile_choice<T>();
    const int64_t mr = tile_shape.mr, nr = tile_shape.nr;  // (clang: no bindings in omp regions)
    std::vector<Tensor> keep;
    const T* wpk = pack_weight(d, w, view, tap_list, nr, keep);
    int64_t taps = int64_t(tap_list.size()), p = d.ho * d.wo, total = d.n * p;
    int64_t tiles = (total + mr - 1) / mr, blocks = (d.o + nr - 1) / nr;
    std::vector<int64_t> offsets;
    for (const Tap& tap : tap_list) offsets.push_back(tap.offset);
    // where each output pixel's taps start in xp
    std::vector<int64_t> base(size_t(total + mr));
    for (int64_t n = 0, q = 0; n < d.n; ++n)
        for (int64_t r = 0; r < d.ho; ++r)
            for (int64_t s = 0; s < d.wo; ++s)
                base[size_t(q++)] = ((n * d.hp + r * d.sh) * d.wp + s * d.sw) * d.c;
    for (int64_t q = total; q < total + mr; ++q) base[size_t(q)] = 0;  // the last tile's rest
    double macs = double(total) * double(d.o) * double(taps * d.c);
#pragma omp parallel if (macs >= kParallelMacs)
    {
        int t = omp_get_thread_num(), team = omp_get_num_threads();
        int64_t t0 = tiles * t / team, t1 = tiles * (t + 1) / team;
        alignas(64) T tile[16 * 32] = {}, by_channel[32 * 16];
        const T* rows[16];
        // Block-outer: a block's packed weight (taps c NR: 590 KB at c = 512) stays in L2
        // while the thread's pixels stream by.
        for (int64_t b = 0; b < blocks; ++b)
            for (int64_t ti = t0; ti < t1; ++ti) {
                int64_t q0 = ti * mr, valid = std::min<int64_t>(mr, total - q0);
                for (int64_t r = 0; r < mr; ++r) rows[r] = xp + base[size_t(q0 + r)];
                kernel(rows, offsets.data(), taps, d.c, wpk + b * taps * d.c * nr, tile);
                store_tile(d, out, tile, nr, q0, valid, b * nr, std::min<int64_t>(nr, d.o - b * nr),
                           bias, y, transpose, by_channel);
            }
    }
}

}  // namespace

// Per image and 16 channels: 16 x 16 blocks (16 pixels in x's order, across rows)
// transposed in registers. With the channels innermost, element by element, it cost 9-13% of
// a 3x3 128-channel conv.
template <typename T>
void to_padded_channels_last(const T* x, int64_t n, int64_t c, int64_t h, int64_t w, int64_t hp,
                             int64_t wp, int64_t top, int64_t left, T* dst) {
    constexpr int64_t kBlock = 16;
    Transpose16<T> transpose = transpose16<T>();
    int64_t blocks = (c + kBlock - 1) / kBlock, hw = h * w;
#pragma omp parallel for schedule(static) if (n * c * h * w >= (int64_t(1) << 16))
    for (int64_t item = 0; item < n * blocks; ++item) {
        int64_t img = item / blocks, c0 = item % blocks * kBlock, cb = std::min(kBlock, c - c0);
        const T* in = x + (img * c + c0) * hw;
        T* out = dst + img * hp * wp * c + c0;
        for (int64_t r = 0; r < hp; ++r)  // the padding
            for (int64_t s = 0; s < wp; ++s)
                if (r < top || r >= top + h || s < left || s >= left + w)
                    std::fill(out + (r * wp + s) * c, out + (r * wp + s) * c + cb, T(0));
        int64_t q = 0;
        if (cb == kBlock)
            for (T* to[kBlock]; q + kBlock <= hw; q += kBlock) {
                for (int64_t j = 0; j < kBlock; ++j)
                    to[j] = out + ((top + (q + j) / w) * wp + left + (q + j) % w) * c;
                transpose(in + q, hw, to);
            }
        for (; q < hw; ++q) {
            T* px = out + ((top + q / w) * wp + left + q % w) * c;
            for (int64_t k = 0; k < cb; ++k) px[k] = in[k * hw + q];
        }
    }
}

namespace {

// The rows of X (N P x taps c) for the weight gradient: row q (image n, output pixel (r, s))
// is, tap after tap, the c channels of xp at (r sh + i dh, s sw + j dw).
template <typename T>
class TapRows final : public PanelSource<T> {
public:
    // columns from first_col on (a thread's share)
    TapRows(const DirectGeometry& d, const T* xp, const int64_t* offsets, int64_t first_col)
        : d_(d), xp_(xp), offsets_(offsets), first_(first_col) {}
    void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nr, int64_t nrw, T* dst) const override {
        j0 += first_;
        int64_t p = d_.ho * d_.wo;
        int64_t n = k0 / p, r = k0 % p / d_.wo, s = k0 % d_.wo;
        int64_t tap = j0 / d_.c, ci = j0 % d_.c;
        bool one_tap = ci + nr <= d_.c;
        for (int64_t k = 0; k < kc; ++k) {
            const T* px = xp_ + ((n * d_.hp + r * d_.sh) * d_.wp + s * d_.sw) * d_.c;
            T* out = dst + k * nrw;
            if (one_tap && nr * int64_t(sizeof(T)) == 128) {  // inline (a memcpy call: 4%)
                __builtin_memcpy(out, px + offsets_[tap] + ci, 128);
            } else if (one_tap) {
                std::memcpy(out, px + offsets_[tap] + ci, size_t(nr) * sizeof(T));
            } else {
                for (int64_t j = 0; j < nr; ++j) {
                    int64_t col = j0 + j;
                    out[j] = px[offsets_[col / d_.c] + col % d_.c];
                }
            }
            for (int64_t j = nr; j < nrw; ++j) out[j] = T(0);
            if (++s == d_.wo && (s = 0, ++r == d_.ho)) r = 0, ++n;
        }
    }

private:
    const DirectGeometry& d_;
    const T* xp_;
    const int64_t* offsets_;
    int64_t first_;
};

// The zero-padded channels-last copy of x (n, c, h, w) that forward_geometry describes.
DirectGeometry forward_geometry(const Conv2dGeometry& g) {
    // the rows / columns the output reads, and the whole image (padding="same" puts an odd
    // total's extra row at the bottom, a stride may leave the last rows unread)
    int64_t hp = std::max(g.pad_h + g.h, (g.ho - 1) * g.stride_h + (g.kh - 1) * g.dil_h + 1);
    int64_t wp = std::max(g.pad_w + g.w, (g.wo - 1) * g.stride_w + (g.kw - 1) * g.dil_w + 1);
    return {g.n,  g.c,  hp,         wp,         g.o,     g.ho,   g.wo,
            g.kh, g.kw, g.stride_h, g.stride_w, g.dil_h, g.dil_w};
}

template <typename T>
T* padded_channels_last(const Conv2dGeometry& g, const DirectGeometry& d, const T* x,
                        std::vector<Tensor>& keep) {
    keep.push_back(empty({d.n * d.hp * d.wp * d.c}, dtype_v<T>));
    T* xp = keep.back().data<T>();
    to_padded_channels_last(x, g.n, g.c, g.h, g.w, d.hp, d.wp, g.pad_h, g.pad_w, xp);
    return xp;
}

}  // namespace

bool nhwc_applies(const Conv2dGeometry& g) {
    // 1x1: only small images with many channels (ResNet-50's last stages: 1024 -> 256 at
    // 9 x 9 ran 2.38 -> 1.98 ms); on wide images the pointwise GEMM reads x in place and wins
    // (256 -> 64 at 36 x 36: 3.0 ms against 4.1 here).
    bool pointwise_here = g.c >= 256 && g.ho * g.wo < 256;
    return g.groups == 1 && g.c >= kNhwcMinChannels && (g.kh * g.kw > 1 || pointwise_here);
}
bool nhwc_input_gradient_applies(const Conv2dGeometry& g) {
    return nhwc_applies(g) && g.o >= kNhwcMinChannels;
}

// Every tap of a kh x kw kernel with dilation (dh, dw) over a channels-last buffer of row
// width wp and c channels.
std::vector<Tap> all_taps(const DirectGeometry& d) {
    std::vector<Tap> taps;
    for (int64_t i = 0; i < d.kh; ++i)
        for (int64_t j = 0; j < d.kw; ++j)
            taps.push_back({(i * d.dh * d.wp + j * d.dw) * d.c, i * d.kw + j});
    return taps;
}

template <typename T>
void forward_nhwc(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
    DirectGeometry d = forward_geometry(g);
    std::vector<Tensor> keep;
    const T* xp = padded_channels_last(g, d, x, keep);
    direct_conv(d, xp, all_taps(d), w, WeightView{g.c * g.kh * g.kw, g.kh * g.kw, g.kh * g.kw},
                bias, y, OutputMap{g.ho * g.wo, 0, g.wo, 1});
}

// The input gradient: gx[n, c, h, w] = sum over o, i, j of gy[n, o, r, s] W[o, c, i, j] where
// h = r sh - p + i d (columns alike). gx's rows split by phase a = h mod sh: row h = a + sh u
// takes the taps i with sh | (a + p - i d), each reading gy row u + e_i, e_i = (a + p - i d)
// / sh. Per phase that is a stride-1 convolution over (u, v) of gy (zero-padded to cover
// every e) with that subset of taps, written to every sh-th row and sw-th column of gx. At
// stride 1 there is one phase with every tap (gy padded by (k - 1) d - p: the transposed
// convolution); a phase no tap reaches stays zero.
template <typename T>
void backward_input_nhwc(const Conv2dGeometry& g, const T* gy, const T* w, T* gx) {
    WeightView view{g.kh * g.kw, g.c * g.kh * g.kw, g.kh * g.kw};
    std::vector<Tensor> keep;
    // Per axis: whether tap i reaches phase a, the gy row (column) offset e it then reads at,
    // and how many gx rows (columns) the phase has.
    struct Axis {
        int64_t s, p, d, k, in, out;  // stride, padding, dilation, kernel, gx size, gy size
        bool hits(int64_t a, int64_t i) const { return ((a + p - i * d) % s + s) % s == 0; }
        int64_t e(int64_t a, int64_t i) const { return (a + p - i * d) / s; }  // exact if hits
        int64_t count(int64_t a) const { return a < in ? (in - a + s - 1) / s : 0; }
    };
    Axis ax[2] = {{g.stride_h, g.pad_h, g.dil_h, g.kh, g.h, g.ho},
                  {g.stride_w, g.pad_w, g.dil_w, g.kw, g.w, g.wo}};
    int64_t lo[2] = {0, 0}, hi[2] = {0, 0};  // the gy rows / columns read, over all phases
    for (int axis = 0; axis < 2; ++axis) {
        const Axis& x = ax[axis];
        lo[axis] = 0, hi[axis] = x.out;
        for (int64_t a = 0; a < x.s; ++a)
            for (int64_t i = 0; i < x.k; ++i)
                if (x.hits(a, i) && x.count(a) > 0) {
                    lo[axis] = std::min(lo[axis], x.e(a, i));
                    hi[axis] = std::max(hi[axis], x.e(a, i) + x.count(a));
                }
    }
    int64_t top = -lo[0], left = -lo[1], hp = hi[0] - lo[0], wp = hi[1] - lo[1];
    keep.push_back(empty({g.n * hp * wp * g.o}, dtype_v<T>));
    T* gyp = keep.back().data<T>();
    to_padded_channels_last(gy, g.n, g.o, g.ho, g.wo, hp, wp, top, left, gyp);
    if (g.stride_h > 1 || g.stride_w > 1) std::fill(gx, gx + g.n * g.c * g.h * g.w, T(0));
    for (int64_t a = 0; a < g.stride_h; ++a)
        for (int64_t b = 0; b < g.stride_w; ++b) {
            DirectGeometry d{g.n,  g.o,  hp, wp, g.c,     ax[0].count(a), ax[1].count(b),
                             g.kh, g.kw, 1,  1,  g.dil_h, g.dil_w};
            std::vector<Tap> taps;  // reading gy in increasing order (at stride 1: the
            for (int64_t i = g.kh - 1; i >= 0; --i)  // flipped kernel's taps in order)
                for (int64_t j = g.kw - 1; j >= 0; --j)
                    if (ax[0].hits(a, i) && ax[1].hits(b, j))
                        taps.push_back({((ax[0].e(a, i) + top) * wp + ax[1].e(b, j) + left) * g.o,
                                        i * g.kw + j});
            if (taps.empty() || d.ho == 0 || d.wo == 0) continue;
            direct_conv(d, gyp, taps, w, view, static_cast<const T*>(nullptr), gx,
                        OutputMap{g.h * g.w, a * g.w + b, g.stride_h * g.w, g.stride_w});
        }
}

template <typename T>
void backward_weight_nhwc(const Conv2dGeometry& g, const T* x, const T* gy, T* gw) {
    DirectGeometry d = forward_geometry(g);
    std::vector<Tensor> keep;
    const T* xp = padded_channels_last(g, d, x, keep);
    int64_t p = g.ho * g.wo, taps = g.kh * g.kw, cols = taps * g.c;
    // gy as pixel rows (N P x O): the GEMM's A = its transpose, MR output channels contiguous
    keep.push_back(empty({g.n * p * g.o}, dtype_v<T>));
    T* gyt = keep.back().data<T>();
    to_padded_channels_last(gy, g.n, g.o, g.ho, g.wo, g.ho, g.wo, 0, 0, gyt);
    std::vector<int64_t> offsets;
    for (const Tap& tap : all_taps(d)) offsets.push_back(tap.offset);
    keep.push_back(empty({g.o * cols}, dtype_v<T>));
    T* by_tap = keep.back().data<T>();  // gw'[o][tap][c]
    int nr = tile_choice<T>().nr;
    int64_t units = (cols + nr - 1) / nr;
    double macs = double(g.n * p) * double(g.o) * double(cols);
#pragma omp parallel if (macs >= kParallelMacs)
    {
        int t = omp_get_thread_num(), team = omp_get_num_threads();
        int64_t lo = std::min(cols, units * t / team * nr);
        int64_t hi = std::min(cols, units * (t + 1) / team * nr);
        if (hi > lo) {
            TapRows<T> rows(d, xp, offsets.data(), lo);
            gemm_serial_panels<T>(g.o, hi - lo, g.n * p, gyt, 1, g.o, rows, by_tap + lo, cols, T(1),
                                  T(0));
        }
#pragma omp barrier
#pragma omp for schedule(static)
        for (int64_t o = 0; o < g.o; ++o)
            for (int64_t ci = 0; ci < g.c; ++ci)
                for (int64_t tap = 0; tap < taps; ++tap)
                    gw[(o * g.c + ci) * taps + tap] = by_tap[o * cols + tap * g.c + ci];
    }
}

#define MARROW_CONV_NHWC(T)                                                                 \
    template TileChoice tile_choice<T>();                                                   \
    template TileKernel<T> tile_kernel<T>();                                                \
    template Transpose16<T> transpose16<T>();                                               \
    template void to_padded_channels_last<T>(const T*, int64_t, int64_t, int64_t, int64_t,  \
                                             int64_t, int64_t, int64_t, int64_t, T*);       \
    template void forward_nhwc<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*); \
    template void backward_input_nhwc<T>(const Conv2dGeometry&, const T*, const T*, T*);    \
    template void backward_weight_nhwc<T>(const Conv2dGeometry&, const T*, const T*, T*);
MARROW_CONV_NHWC(float)
MARROW_CONV_NHWC(double)
#undef MARROW_CONV_NHWC

}  // namespace marrow::cpu::conv
