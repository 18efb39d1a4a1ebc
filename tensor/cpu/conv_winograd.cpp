// CPU conv2d, Winograd F(2x2, 3x3): 3x3 convolutions at stride 1 and padding 1 (every 3x3
// conv of a ResNet but the first of a stage) on float and AVX-512, with channel counts that
// are multiples of 16: the forward, the input gradient (the same convolution of gy with the
// flipped, transposed weight) and the weight gradient (backward_weight_winograd).
//
// Why: the channels-last direct kernel (conv_nhwc.cpp) runs near the FMA peak, and so does
// PyTorch's oneDNN; Winograd's minimal filtering does 16 multiplies per 2 x 2 output tile and
// channel pair where the direct conv does 36 (2.25x fewer), plus a few adds per tile.
//
// The math (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016): with
// d the 4 x 4 input patch of the 2 x 2 output tile at (2 ty, 2 tx) (x's rows 2 ty - 1 ..
// 2 ty + 2, zero outside) and g the 3 x 3 weight of one (o, c) pair, the tile's correlation is
//   Y = A^T [(G g G^T) .* (B^T d B)] A,   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
//   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],   A^T = [1 1 1 0; 0 1 -1 -1].
// Summed over c, each element e of the 4 x 4 product is one matrix product:
//   M_e (tiles x O) = V_e (tiles x C) @ U_e (C x O),  V = B^T d B per tile and channel,
//   U = G g G^T per (o, c) pair,  y's tile = A^T M A per output channel.
// U is transformed once per call (in double, then rounded), packed as the direct kernel's
// weight ([e][o block][c][NR]). Threads take blocks of whole tile rows, sized so that a
// block's V, M and output pixels stay in L2: the block's patches are transformed out of the
// zero-padded channels-last copy of x (16 channels per vector), the 16 products run on the
// direct kernel's register tile (one tap of C channels, MR tiles x NR output channels), and
// A^T M A goes to a channels-last block of output pixels that is transposed into y (NCHW).
// Rounding: B^T d B and A^T M A add up to 3 terms per side (|V| <= 4 max |d|), so errors run
// a few times the direct conv's; tests/test_conv.cpp bounds them against the reference.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "tensor/cpu/conv_common.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/isa.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::cpu::conv {
namespace {

constexpr int64_t kElements = 16;  // of the 4 x 4 transformed patch
constexpr int64_t kLanes = 16;     // floats per AVX-512 vector
// A block's V (16 x tiles x C), M (16 x tiles x O) and output pixels (4 x tiles x O) fill
// at most this much of L2 (1 MB per core here).
constexpr int64_t kBlockBytes = int64_t(640) << 10;
// Fewer tiles than this per block and the products take the phased schedule (winograd_conv).
constexpr int64_t kFusedTiles = 32;

typedef float Vec __attribute__((vector_size(64)));

// A grow-only per-thread buffer (slot: which one): a block's V, M and output pixels. (A vector
// per call: the kernel zeroing fresh pages cost 5% of a ResNet-18 training step.)
float* thread_buffer(int slot, int64_t n) {
    thread_local std::vector<float> buffers[3];
    if (int64_t(buffers[slot].size()) < n) buffers[slot].resize(size_t(n));
    return buffers[slot].data();
}

struct WinogradGeometry {
    int64_t n, c, o, h, w;  // images, input / output channels, image (= output) size
    int64_t th, tw;         // tiles down / across an image
    int64_t hp, wp;         // the padded channels-last input: 2 th + 2 rows, 2 tw + 2 columns
    int64_t nr, blocks_o;   // output channels per register tile, and NR-wide blocks of them
    bool relu = false;      // the output transform stores max(0, y)
    int64_t opad() const { return blocks_o * nr; }
};

// How the convolution reads its weight: element (output channel o, input channel c, tap
// (i, j)) = w[o o_stride + c c_stride + tap], tap = 3 i + j, or 3 (2 - i) + 2 - j flipped.
struct WeightRead {
    int64_t o_stride, c_stride;
    bool flip;
};

// u[((e blocks_o + b) c + ci) nr + j] = (G g G^T)[e] for the pair (o = b nr + j, ci); zero
// for o past the output channels. In double, then rounded; a block's nr channels at a time
// (so u is written in runs of nr, and the nr weight rows read stay in L1).
MARROW_TARGET_AVX512 void transform_weight(const WinogradGeometry& d, const float* w, WeightRead r,
                                           float* u) {
    constexpr int64_t kMaxNr = 32;  // the AVX-512 float tile's NR
    MARROW_CHECK(d.nr <= kMaxNr, "conv2d Winograd: register tile of ", d.nr,
                 " output channels, the weight transform holds ", kMaxNr);
#pragma omp parallel for schedule(static) collapse(2)
    for (int64_t b = 0; b < d.blocks_o; ++b)
        for (int64_t ci = 0; ci < d.c; ++ci) {
            double g[3][3][kMaxNr] = {}, gg[4][3][kMaxNr];
            int64_t cols = std::min(d.nr, d.o - b * d.nr);
            for (int64_t j = 0; j < cols; ++j) {
                const float* wj = w + (b * d.nr + j) * r.o_stride + ci * r.c_stride;
                for (int i = 0; i < 3; ++i)
                    for (int k = 0; k < 3; ++k)
                        g[i][k][j] = wj[r.flip ? (2 - i) * 3 + 2 - k : i * 3 + k];
            }
            for (int k = 0; k < 3; ++k)  // G g
                for (int64_t j = 0; j < d.nr; ++j) {
                    gg[0][k][j] = g[0][k][j];
                    gg[1][k][j] = 0.5 * (g[0][k][j] + g[1][k][j] + g[2][k][j]);
                    gg[2][k][j] = 0.5 * (g[0][k][j] - g[1][k][j] + g[2][k][j]);
                    gg[3][k][j] = g[2][k][j];
                }
            for (int i = 0; i < 4; ++i) {  // (G g) G^T, element e = 4 i + column
                float* to = u + ((4 * i * d.blocks_o + b) * d.c + ci) * d.nr;
                int64_t e_stride = d.blocks_o * d.c * d.nr;
                for (int64_t j = 0; j < d.nr; ++j) {
                    to[j] = float(gg[i][0][j]);
                    to[e_stride + j] = float(0.5 * (gg[i][0][j] + gg[i][1][j] + gg[i][2][j]));
                    to[2 * e_stride + j] = float(0.5 * (gg[i][0][j] - gg[i][1][j] + gg[i][2][j]));
                    to[3 * e_stride + j] = float(gg[i][2][j]);
                }
            }
        }
}

// Tile t of a block that starts at tile row `row0` (tile rows counted across images).
struct TilePos {
    int64_t n, ty, tx;
};
TilePos tile_at(const WinogradGeometry& d, int64_t row0, int64_t t) {
    int64_t row = row0 + t / d.tw;
    return {row / d.th, row % d.th, t % d.tw};
}

#pragma GCC diagnostic ignored "-Wpsabi"
// v[(e stride + t) c + ci] = (B^T d B)[e] of channel ci for tiles t < tiles of the block.
MARROW_TARGET_AVX512 void transform_input(const WinogradGeometry& d, const float* xp, int64_t row0,
                                          int64_t tiles, int64_t stride, float* v) {
    for (int64_t t = 0; t < tiles; ++t) {
        TilePos at = tile_at(d, row0, t);
        const float* patch = xp + ((at.n * d.hp + 2 * at.ty) * d.wp + 2 * at.tx) * d.c;
        for (int64_t c0 = 0; c0 < d.c; c0 += kLanes) {
            Vec p[4][4], q[4][4];
            for (int i = 0; i < 4; ++i)
                for (int j = 0; j < 4; ++j)
                    std::memcpy(&p[i][j], patch + (i * d.wp + j) * d.c + c0, sizeof(Vec));
            for (int j = 0; j < 4; ++j) {  // B^T p: rows combined
                q[0][j] = p[0][j] - p[2][j];
                q[1][j] = p[1][j] + p[2][j];
                q[2][j] = p[2][j] - p[1][j];
                q[3][j] = p[1][j] - p[3][j];
            }
            for (int i = 0; i < 4; ++i) {  // (B^T p) B: columns combined
                Vec r[4] = {q[i][0] - q[i][2], q[i][1] + q[i][2], q[i][2] - q[i][1],
                            q[i][1] - q[i][3]};
                for (int j = 0; j < 4; ++j)
                    std::memcpy(v + ((i * 4 + j) * stride + t) * d.c + c0, &r[j], sizeof(Vec));
            }
        }
    }
}

// out[(q - first) opad + o] = (A^T M A) + bias (then max(0, .) when d.relu) for the output
// pixels q (flattened n, h, w) of the block's tiles; m[((e blocks_o + b) stride + t) nr + j] is M_e
// of tile t, channel b nr + j.
MARROW_TARGET_AVX512 void transform_output(const WinogradGeometry& d, const float* m, int64_t row0,
                                           int64_t tiles, int64_t stride, const float* bias,
                                           int64_t first, float* out) {
    const int64_t opad = d.opad(), plane = d.h * d.w;
    for (int64_t t = 0; t < tiles; ++t) {
        TilePos at = tile_at(d, row0, t);
        int64_t rows = std::min<int64_t>(2, d.h - 2 * at.ty),
                cols = std::min<int64_t>(2, d.w - 2 * at.tx);
        float* px = out + (at.n * plane + 2 * at.ty * d.w + 2 * at.tx - first) * opad;
        for (int64_t o0 = 0; o0 < d.o; o0 += kLanes) {
            int64_t b = o0 / d.nr, j0 = o0 % d.nr;
            Vec s[4][4];
            for (int e = 0; e < kElements; ++e)
                std::memcpy(&s[e / 4][e % 4], m + ((e * d.blocks_o + b) * stride + t) * d.nr + j0,
                            sizeof(Vec));
            Vec a[2][4];
            for (int j = 0; j < 4; ++j) {  // A^T s: rows combined
                a[0][j] = s[0][j] + s[1][j] + s[2][j];
                a[1][j] = s[1][j] - s[2][j] - s[3][j];
            }
            Vec bv = {};
            if (bias) std::memcpy(&bv, bias + o0, sizeof(Vec));
            for (int64_t i = 0; i < rows; ++i) {  // (A^T s) A: columns combined
                Vec y[2] = {a[i][0] + a[i][1] + a[i][2] + bv, a[i][1] - a[i][2] - a[i][3] + bv};
                if (d.relu)
                    for (Vec& v : y) v = v > Vec{} ? v : Vec{};
                for (int64_t j = 0; j < cols; ++j)
                    std::memcpy(px + (i * d.w + j) * opad + o0, &y[j], sizeof(Vec));
            }
        }
    }
}

// y[n, o, pixel] = out[(q - first) opad + o] for the flattened pixels q in [first, last):
// per image and 16 channels, 16 pixels at a time transposed in registers.
void store_block(const WinogradGeometry& d, const float* out, int64_t first, int64_t last,
                 Transpose16<float> transpose, float* y) {
    const int64_t opad = d.opad(), plane = d.h * d.w;
    for (int64_t q = first; q < last;) {
        int64_t n = q / plane, at = q % plane, run = std::min(last, (n + 1) * plane) - q;
        for (int64_t o0 = 0; o0 < d.o; o0 += kLanes) {
            float* to = y + (n * d.o + o0) * plane + at;
            const float* from = out + (q - first) * opad + o0;
            int64_t k = 0;
            for (float* dst[kLanes]; k + kLanes <= run; k += kLanes) {
                for (int64_t j = 0; j < kLanes; ++j) dst[j] = to + j * plane + k;
                transpose(from + k * opad, opad, dst);
            }
            for (; k < run; ++k)
                for (int64_t j = 0; j < kLanes; ++j) to[j * plane + k] = from[k * opad + j];
        }
        q += run;
    }
}

// The 16 products of tiles [0, tiles) whose V rows are at v (stride rows per element):
// M_e[t][b nr + j] = sum over c of V_e[t][c] U_e[c][b nr + j], for output blocks [b0, b1).
void products(const WinogradGeometry& d, const float* u, const float* v, int64_t tiles,
              int64_t stride, int64_t e, int64_t b0, int64_t b1, TileKernel<float> kernel,
              int64_t mr, float* m) {
    const float* rows[16];
    const int64_t zero_offset = 0;
    for (int64_t b = b0; b < b1; ++b) {
        const float* ue = u + (e * d.blocks_o + b) * d.c * d.nr;
        float* me = m + (e * d.blocks_o + b) * stride * d.nr;
        for (int64_t t0 = 0; t0 < tiles; t0 += mr) {
            for (int64_t i = 0; i < mr; ++i) rows[i] = v + (e * stride + t0 + i) * d.c;
            kernel(rows, &zero_offset, 1, d.c, ue, me + t0 * d.nr);
        }
    }
}

// The output pixels (flattened n, h, w) of tile rows [row0, row1): from the first row's top
// to the last row's bottom.
int64_t first_pixel(const WinogradGeometry& d, int64_t row0) {
    return row0 / d.th * d.h * d.w + row0 % d.th * 2 * d.w;
}
int64_t end_pixel(const WinogradGeometry& d, int64_t row1) {
    int64_t last = row1 - 1;
    return last / d.th * d.h * d.w + std::min(d.h, (last % d.th + 1) * 2) * d.w;
}

// y (n, o, h, w) = the 3x3 stride-1 padding-1 convolution of x (n, c, h, w) with the weight
// read through r. Two schedules:
//   fused (a block's V, M and output fit kBlockBytes with at least kFusedTiles tiles: up to
//     128 channels): each thread transforms, multiplies and transforms back one block of
//     tile rows at a time, U (16 C O floats, 1 MB at 128 channels) read once per block;
//   phased (more channels, small images: ResNet's 256 and 512 at 9 x 9 and 5 x 5): every
//     tile's V first, then each (element, output block) product over all tiles as one item
//     of the thread team (its U slice, C NR floats, read once), then every output tile.
//     Fused blocks of 12-24 tiles there re-read U (4-16 MB) per block and gained nothing on
//     the direct conv.
void winograd_conv(const WinogradGeometry& d, const float* x, const float* w, WeightRead r,
                   const float* bias, float* y) {
    const TileChoice tile = tile_choice<float>();
    const int64_t mr = tile.mr, opad = d.opad();
    TileKernel<float> kernel = tile_kernel<float>();
    Transpose16<float> transpose = transpose16<float>();
    std::vector<Tensor> keep;
    keep.push_back(empty({d.n * d.hp * d.wp * d.c}, DType::f32));
    float* xp = keep.back().data<float>();
    to_padded_channels_last(x, d.n, d.c, d.h, d.w, d.hp, d.wp, 1, 1, xp);
    keep.push_back(empty({kElements * opad * d.c}, DType::f32));
    float* u = keep.back().data<float>();
    transform_weight(d, w, r, u);

    int64_t tile_bytes = int64_t(sizeof(float)) * (kElements * d.c + kElements * opad + 4 * opad);
    int64_t total_rows = d.n * d.th, threads = omp_get_max_threads();
    double macs = double(total_rows * d.tw) * double(kElements * d.c * d.o);
    bool parallel = macs >= kParallelMacs;
    if (kBlockBytes / tile_bytes < kFusedTiles) {  // phased
        int64_t tiles = total_rows * d.tw, stride = (tiles + mr - 1) / mr * mr;
        keep.push_back(empty({kElements * stride * d.c}, DType::f32));
        float* v = keep.back().data<float>();
        keep.push_back(empty({kElements * d.blocks_o * stride * d.nr}, DType::f32));
        float* m = keep.back().data<float>();
        keep.push_back(empty({d.n * d.h * d.w * opad}, DType::f32));
        float* out = keep.back().data<float>();
        std::fill(v + tiles * d.c, v + stride * d.c, 0.0f);  // rows past the last tile
#pragma omp parallel if (parallel)
        {
#pragma omp for schedule(static)
            for (int64_t row = 0; row < total_rows; ++row)
                transform_input(d, xp, row, d.tw, stride, v + row * d.tw * d.c);
#pragma omp for schedule(dynamic, 1)
            for (int64_t item = 0; item < kElements * d.blocks_o; ++item)
                products(d, u, v, tiles, stride, item / d.blocks_o, item % d.blocks_o,
                         item % d.blocks_o + 1, kernel, mr, m);
#pragma omp for schedule(static)
            for (int64_t row = 0; row < total_rows; ++row) {
                int64_t first = first_pixel(d, row);
                transform_output(d, m + row * d.tw * d.nr, row, d.tw, stride, bias, first,
                                 out + first * opad);
                store_block(d, out + first * opad, first, end_pixel(d, row + 1), transpose, y);
            }
        }
        return;
    }
    // fused: as many tile rows per block as fit kBlockBytes, at least two register tiles'
    // worth, and enough blocks for every thread to take a few
    int64_t rows_per_block = std::max<int64_t>(1, kBlockBytes / tile_bytes / d.tw);
    rows_per_block = std::min(rows_per_block, std::max<int64_t>(1, total_rows / (4 * threads)));
    rows_per_block = std::max(rows_per_block, (2 * mr + d.tw - 1) / d.tw);
    int64_t blocks = (total_rows + rows_per_block - 1) / rows_per_block;
    int64_t stride = (rows_per_block * d.tw + mr - 1) / mr * mr;  // tiles, padded to MR
#pragma omp parallel if (parallel)
    {
        float* v = thread_buffer(0, kElements * stride * d.c);
        float* m = thread_buffer(1, kElements * d.blocks_o * stride * d.nr);
        float* out = thread_buffer(2, 4 * stride * opad);
#pragma omp for schedule(dynamic, 1)
        for (int64_t blk = 0; blk < blocks; ++blk) {
            int64_t row0 = blk * rows_per_block;
            int64_t row1 = std::min(total_rows, row0 + rows_per_block);
            int64_t tiles = (row1 - row0) * d.tw, first = first_pixel(d, row0);
            transform_input(d, xp, row0, tiles, stride, v);
            for (int64_t e = 0; e < kElements; ++e)
                products(d, u, v, tiles, stride, e, 0, d.blocks_o, kernel, mr, m);
            transform_output(d, m, row0, tiles, stride, bias, first, out);
            store_block(d, out, first, end_pixel(d, row1), transpose, y);
        }
    }
}

// yh[(e stride + t) o + oc] = (A g A^T)[e] of channel oc for tiles t < tiles of a block that
// starts at tile row row0, g the 2 x 2 gradient tile (zero past the image: gyp is padded to
// 2 th x 2 tw), A = (A^T)^T = [1 0; 1 1; 1 -1; 0 -1].
MARROW_TARGET_AVX512 void transform_gradient(const WinogradGeometry& d, const float* gyp,
                                             int64_t row0, int64_t tiles, int64_t stride,
                                             float* yh) {
    for (int64_t t = 0; t < tiles; ++t) {
        TilePos at = tile_at(d, row0, t);
        const float* tile = gyp + ((at.n * 2 * d.th + 2 * at.ty) * 2 * d.tw + 2 * at.tx) * d.o;
        for (int64_t o0 = 0; o0 < d.o; o0 += kLanes) {
            Vec g[2][2], a[4][2];
            for (int i = 0; i < 2; ++i)
                for (int j = 0; j < 2; ++j)
                    std::memcpy(&g[i][j], tile + (i * 2 * d.tw + j) * d.o + o0, sizeof(Vec));
            for (int j = 0; j < 2; ++j) {  // A g: rows
                a[0][j] = g[0][j];
                a[1][j] = g[0][j] + g[1][j];
                a[2][j] = g[0][j] - g[1][j];
                a[3][j] = -g[1][j];
            }
            for (int i = 0; i < 4; ++i) {  // (A g) A^T: columns
                Vec r[4] = {a[i][0], a[i][0] + a[i][1], a[i][0] - a[i][1], -a[i][1]};
                for (int j = 0; j < 4; ++j)
                    std::memcpy(yh + ((i * 4 + j) * stride + t) * d.o + o0, &r[j], sizeof(Vec));
            }
        }
    }
}

// gw[o, c, i, j] = (G^T dU G)[i][j] with dU[e] = du[(e o_count + o) c_count + c], G^T =
// [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1].
MARROW_TARGET_AVX512 void weight_from_products(const WinogradGeometry& d, const float* du,
                                               int64_t o, float* gw) {
    const int64_t plane = d.o * d.c;
    for (int64_t c = 0; c < d.c; ++c) {
        float s[4][4], t[3][4];
        for (int e = 0; e < kElements; ++e) s[e / 4][e % 4] = du[e * plane + o * d.c + c];
        for (int k = 0; k < 4; ++k) {  // G^T dU: rows
            t[0][k] = s[0][k] + 0.5f * (s[1][k] + s[2][k]);
            t[1][k] = 0.5f * (s[1][k] - s[2][k]);
            t[2][k] = 0.5f * (s[1][k] + s[2][k]) + s[3][k];
        }
        float* to = gw + (o * d.c + c) * 9;
        for (int i = 0; i < 3; ++i) {  // (G^T dU) G: columns
            to[i * 3 + 0] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
            to[i * 3 + 1] = 0.5f * (t[i][1] - t[i][2]);
            to[i * 3 + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
        }
    }
}

WinogradGeometry winograd_geometry(int64_t n, int64_t c, int64_t o, int64_t h, int64_t w) {
    int64_t th = (h + 1) / 2, tw = (w + 1) / 2, nr = tile_choice<float>().nr;
    return {n, c, o, h, w, th, tw, 2 * th + 2, 2 * tw + 2, nr, (o + nr - 1) / nr, false};
}

}  // namespace

bool winograd_applies(const Conv2dGeometry& g) {
    return cpu_isa() == Isa::avx512 && g.groups == 1 && g.kh == 3 && g.kw == 3 && g.stride_h == 1 &&
           g.stride_w == 1 && g.pad_h == 1 && g.pad_w == 1 && g.dil_h == 1 && g.dil_w == 1 &&
           g.c % kLanes == 0 && g.o % kLanes == 0;
}

void forward_winograd(const Conv2dGeometry& g, const float* x, const float* w, const float* bias,
                      float* y) {
    WinogradGeometry d = winograd_geometry(g.n, g.c, g.o, g.h, g.w);
    d.relu = g.relu;
    winograd_conv(d, x, w, WeightRead{g.c * 9, 9, false}, bias, y);
}

// gx[n, c, h, w] = sum over o, i, j of gy[n, o, h + 1 - i, w + 1 - j] W[o, c, i, j]: the
// same convolution of gy, its weight W'[c, o, i, j] = W[o, c, 2 - i, 2 - j].
void backward_input_winograd(const Conv2dGeometry& g, const float* gy, const float* w, float* gx) {
    winograd_conv(winograd_geometry(g.n, g.o, g.c, g.h, g.w), gy, w, WeightRead{9, g.c * 9, true},
                  nullptr, gx);
}

// gw[o, c, i, j] = sum over n, h, w of gy[n, o, h, w] x[n, c, h + i - 1, w + j - 1]: through
// the forward's tiles (see the top), the gradient of U = G g G^T is, per element e,
//   dU_e (O x C) = sum over tiles of (A gy_tile A^T)_e (O) (B^T d B)_e (C)^T,
// 16 GEMMs of depth = tiles, then gw = G^T dU G per pair. Two schedules, as the forward's:
//   fused (a chunk of at least kFusedTiles tiles' V and gradient transforms fits
//     kBlockBytes, and every thread gets two chunks): each thread sums its chunks of tile
//     rows into its own dU, then the copies are added;
//   phased: V and the transformed gradient of every tile first (16 x tiles x (C + O)
//     floats), then each element's GEMM over all tiles as one item of the team.
void backward_weight_winograd(const Conv2dGeometry& g, const float* x, const float* gy, float* gw) {
    WinogradGeometry d = winograd_geometry(g.n, g.c, g.o, g.h, g.w);
    std::vector<Tensor> keep;
    keep.push_back(empty({d.n * d.hp * d.wp * d.c}, DType::f32));
    float* xp = keep.back().data<float>();
    to_padded_channels_last(x, d.n, d.c, d.h, d.w, d.hp, d.wp, 1, 1, xp);
    keep.push_back(empty({d.n * 2 * d.th * 2 * d.tw * d.o}, DType::f32));
    float* gyp = keep.back().data<float>();
    to_padded_channels_last(gy, d.n, d.o, d.h, d.w, 2 * d.th, 2 * d.tw, 0, 0, gyp);
    int64_t rows = d.n * d.th, tiles = rows * d.tw, threads = omp_get_max_threads();
    double macs = double(tiles) * double(kElements * d.c * d.o);
    bool parallel = macs >= kParallelMacs;
    int64_t team = parallel ? threads : 1;
    // Tile rows per chunk: the chunk's V and gradient transforms within kBlockBytes.
    int64_t chunk_tiles = kBlockBytes / (int64_t(sizeof(float)) * kElements * (d.c + d.o));
    int64_t rows_per_chunk = std::max<int64_t>(1, chunk_tiles / d.tw);
    bool fused = rows_per_chunk * d.tw >= kFusedTiles && rows >= 2 * team * rows_per_chunk;
    // dU: one per thread when fused (thread 0's first), summed before the inverse transform
    keep.push_back(zeros({(fused ? team : 1) * kElements * d.o * d.c}, DType::f32));
    float* du = keep.back().data<float>();
    if (fused) {
        int64_t stride = rows_per_chunk * d.tw;
#pragma omp parallel num_threads(int(team))
        {
            float* v = thread_buffer(0, kElements * stride * d.c);
            float* yh = thread_buffer(1, kElements * stride * d.o);
            float* mine = du + omp_get_thread_num() * kElements * d.o * d.c;
#pragma omp for schedule(static)
            for (int64_t row0 = 0; row0 < rows; row0 += rows_per_chunk) {
                int64_t count = std::min(rows_per_chunk, rows - row0) * d.tw;
                transform_input(d, xp, row0, count, stride, v);
                transform_gradient(d, gyp, row0, count, stride, yh);
                for (int64_t e = 0; e < kElements; ++e)
                    gemm_serial_strided<float>(d.o, d.c, count, yh + e * stride * d.o, 1, d.o,
                                               v + e * stride * d.c, d.c, 1, mine + e * d.o * d.c,
                                               d.c, 1.0f, 1.0f);
            }
#pragma omp for schedule(static)
            for (int64_t k = 0; k < kElements * d.o * d.c; ++k)
                for (int64_t u = 1; u < team; ++u) du[k] += du[u * kElements * d.o * d.c + k];
#pragma omp for schedule(static)
            for (int64_t o = 0; o < d.o; ++o) weight_from_products(d, du, o, gw);
        }
        return;
    }
    // phased: every tile's transforms, then one element's product per thread at a time
    keep.push_back(empty({kElements * tiles * d.c}, DType::f32));
    float* v = keep.back().data<float>();
    keep.push_back(empty({kElements * tiles * d.o}, DType::f32));
    float* yh = keep.back().data<float>();
#pragma omp parallel if (parallel)
    {
#pragma omp for schedule(static)
        for (int64_t row = 0; row < rows; ++row) {
            transform_input(d, xp, row, d.tw, tiles, v + row * d.tw * d.c);
            transform_gradient(d, gyp, row, d.tw, tiles, yh + row * d.tw * d.o);
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t e = 0; e < kElements; ++e)  // dU_e (O x C) = Yh_e^T (O x T) V_e (T x C)
            gemm_serial_strided<float>(d.o, d.c, tiles, yh + e * tiles * d.o, 1, d.o,
                                       v + e * tiles * d.c, d.c, 1, du + e * d.o * d.c, d.c, 1.0f,
                                       0.0f);
#pragma omp for schedule(static)
        for (int64_t o = 0; o < d.o; ++o) weight_from_products(d, du, o, gw);
    }
}

}  // namespace marrow::cpu::conv
