// CUDA conv2d: forward, input gradient and weight gradient as implicit GEMMs (no im2col
// buffer): one tiled kernel, the GEMM tiling of cuda/kernels/gemm_tiled.cuh (64 x 64 block
// tiles, K in steps of 16 through shared memory, 4 x 4 outputs per thread), whose tile loads
// compute the convolution's operands from the tensors. blockIdx.z is the group. Per group
// (Og = O / groups, Cg = C / groups, P = Ho Wo, taps = kH kW):
//   forward  y (Og x N P)        = W (Og x Cg taps)  @ col(x) (Cg taps x N P)
//   input    gx (Cg x N H W)     = W' (Cg x Og taps) @ col'(gy) (Og taps x N H W): gx's pixel
//            (ih, iw) reads gy at ((ih + ph - i dh) / sh, (iw + pw - j dw) / sw) when both
//            divide exactly and land inside gy, else zero (a transposed convolution)
//   weight   gw (Og x Cg taps)   = gy (Og x N P) @ col(x)^T (N P x Cg taps)
// Every output element is written by one thread summing in a fixed order: deterministic, no
// atomics. cuDNN is not used (an optional vendor provider later, like cuBLAS for GEMM).
#include "cuda/cuda_kernels.h"
#include "cuda/launch.h"

namespace marrow::cuda {
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16, kTM = 4, kTN = 4;
constexpr int kConvThreads = (kBM / kTM) * (kBN / kTN);  // 256

struct Dims {
    Conv2dGeometry g;
    int64_t cg, og, taps, kc, p, hw;
};
Dims dims_of(const Conv2dGeometry& g) {
    int64_t cg = g.c / g.groups, taps = g.kh * g.kw;
    return {g, cg, g.o / g.groups, taps, cg * taps, g.ho * g.wo, g.h * g.w};
}

// x[n, grp Cg + ci] at the input pixel that tap k = (ci, i, j) of output pixel `pix` reads,
// zero in the padding.
template <typename T>
__device__ __forceinline__ T im2col(const Dims& d, const T* x, int64_t grp, int64_t n,
                                    int64_t pix, int64_t k) {
    const Conv2dGeometry& g = d.g;
    int64_t r = pix / g.wo, s = pix % g.wo;
    int64_t ci = k / d.taps, i = k / g.kw % g.kh, j = k % g.kw;
    int64_t ih = r * g.stride_h - g.pad_h + i * g.dil_h;
    int64_t iw = s * g.stride_w - g.pad_w + j * g.dil_w;
    if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) return T(0);
    return x[((n * g.c + grp * d.cg + ci) * g.h + ih) * g.w + iw];
}

template <typename T>
struct Forward {  // M = Og, N = n P, K = Cg taps
    Dims d;
    const T *x, *w, *bias;
    T* y;
    __device__ int64_t rows() const { return d.og; }
    __device__ int64_t cols() const { return d.g.n * d.p; }
    __device__ int64_t depth() const { return d.kc; }
    __device__ T a(int64_t grp, int64_t m, int64_t k) const {
        return w[(grp * d.og + m) * d.kc + k];
    }
    __device__ T b(int64_t grp, int64_t k, int64_t col) const {
        return im2col(d, x, grp, col / d.p, col % d.p, k);
    }
    __device__ void store(int64_t grp, int64_t m, int64_t col, T acc) const {
        int64_t o = grp * d.og + m;
        T v = bias ? acc + bias[o] : acc;
        y[(col / d.p * d.g.o + o) * d.p + col % d.p] = d.g.relu && v < T(0) ? T(0) : v;
    }
};

template <typename T>
struct BackwardInput {  // M = Cg, N = n H W, K = Og taps
    Dims d;
    const T *gy, *w;
    T* gx;
    __device__ int64_t rows() const { return d.cg; }
    __device__ int64_t cols() const { return d.g.n * d.hw; }
    __device__ int64_t depth() const { return d.og * d.taps; }
    __device__ T a(int64_t grp, int64_t m, int64_t k) const {
        int64_t o = grp * d.og + k / d.taps;
        return w[(o * d.cg + m) * d.taps + k % d.taps];
    }
    __device__ T b(int64_t grp, int64_t k, int64_t col) const {
        const Conv2dGeometry& g = d.g;
        int64_t n = col / d.hw, ih = col % d.hw / g.w, iw = col % g.w;
        int64_t o = grp * d.og + k / d.taps, i = k % d.taps / g.kw, j = k % g.kw;
        int64_t rr = ih + g.pad_h - i * g.dil_h, ss = iw + g.pad_w - j * g.dil_w;
        if (rr < 0 || ss < 0 || rr % g.stride_h != 0 || ss % g.stride_w != 0) return T(0);
        int64_t r = rr / g.stride_h, s = ss / g.stride_w;
        if (r >= g.ho || s >= g.wo) return T(0);
        return gy[(n * g.o + o) * d.p + r * g.wo + s];
    }
    __device__ void store(int64_t grp, int64_t m, int64_t col, T acc) const {
        gx[(col / d.hw * d.g.c + grp * d.cg + m) * d.hw + col % d.hw] = acc;
    }
};

template <typename T>
struct BackwardWeight {  // M = Og, N = Cg taps, K = n P
    Dims d;
    const T *x, *gy;
    T* gw;
    __device__ int64_t rows() const { return d.og; }
    __device__ int64_t cols() const { return d.kc; }
    __device__ int64_t depth() const { return d.g.n * d.p; }
    __device__ T a(int64_t grp, int64_t m, int64_t k) const {
        return gy[(k / d.p * d.g.o + grp * d.og + m) * d.p + k % d.p];
    }
    __device__ T b(int64_t grp, int64_t k, int64_t col) const {
        return im2col(d, x, grp, k / d.p, k % d.p, col);
    }
    __device__ void store(int64_t grp, int64_t m, int64_t col, T acc) const {
        gw[(grp * d.og + m) * d.kc + col] = acc;
    }
};

// One 64 x 64 tile of the problem's (rows x cols) output for group blockIdx.z.
template <typename T, typename Problem>
__global__ void conv_gemm_kernel(Problem prob) {
    __shared__ T as[kBK][kBM];  // as[k][m]
    __shared__ T bs[kBK][kBN];  // bs[k][n]
    int64_t grp = blockIdx.z, M = prob.rows(), N = prob.cols(), K = prob.depth();
    int tx = int(threadIdx.x) % (kBN / kTN), ty = int(threadIdx.x) / (kBN / kTN);
    int64_t row0 = int64_t(blockIdx.y) * kBM, col0 = int64_t(blockIdx.x) * kBN;
    T acc[kTM][kTN];
    for (int i = 0; i < kTM; ++i)
        for (int j = 0; j < kTN; ++j) acc[i][j] = T(0);
    for (int64_t k0 = 0; k0 < K; k0 += kBK) {
        for (int i = int(threadIdx.x); i < kBM * kBK; i += kConvThreads) {
            int mm = i / kBK, kk = i % kBK;
            int64_t r = row0 + mm, k = k0 + kk;
            as[kk][mm] = r < M && k < K ? prob.a(grp, r, k) : T(0);
        }
        for (int i = int(threadIdx.x); i < kBK * kBN; i += kConvThreads) {
            int kk = i / kBN, nn = i % kBN;
            int64_t k = k0 + kk, col = col0 + nn;
            bs[kk][nn] = k < K && col < N ? prob.b(grp, k, col) : T(0);
        }
        __syncthreads();
        for (int kk = 0; kk < kBK; ++kk) {
            T ra[kTM], rb[kTN];
            for (int i = 0; i < kTM; ++i) ra[i] = as[kk][ty * kTM + i];
            for (int j = 0; j < kTN; ++j) rb[j] = bs[kk][tx * kTN + j];
            for (int i = 0; i < kTM; ++i)
                for (int j = 0; j < kTN; ++j) acc[i][j] += ra[i] * rb[j];
        }
        __syncthreads();
    }
    for (int i = 0; i < kTM; ++i) {
        int64_t r = row0 + ty * kTM + i;
        if (r >= M) continue;
        for (int j = 0; j < kTN; ++j) {
            int64_t col = col0 + tx * kTN + j;
            if (col < N) prob.store(grp, r, col, acc[i][j]);
        }
    }
}

template <typename T, typename Problem>
void launch(const Problem& prob, int64_t rows, int64_t cols, int64_t groups) {
    int64_t gx = (cols + kBN - 1) / kBN, gy = (rows + kBM - 1) / kBM;
    MARROW_CHECK(gx <= 0x7fffffff && gy <= 65535 && groups <= 65535,
                 "CUDA conv2d: a {} x {} product over {} groups exceeds the grid limits", rows,
                 cols, groups);
    auto* kernel = &conv_gemm_kernel<T, Problem>;
    MARROW_LAUNCH(kernel, dim3(unsigned(gx), unsigned(gy), unsigned(groups)), kConvThreads, 0,
                  prob);
}

}  // namespace

void conv2d(const Conv2dGeometry& g, const Tensor& x, const Tensor& weight, const Tensor* bias,
            const Tensor& y) {
    visit_float(x.dtype(), "conv2d", [&]<typename T>() {
        Dims d = dims_of(g);
        Forward<T> prob{d, x.data_ptr<T>(), weight.data_ptr<T>(),
                        bias ? bias->data_ptr<T>() : nullptr, y.data_ptr<T>()};
        launch<T>(prob, d.og, g.n * d.p, g.groups);
    });
}

void conv2d_backward_input(const Conv2dGeometry& g, const Tensor& gy, const Tensor& weight,
                           const Tensor& gx) {
    visit_float(gy.dtype(), "conv2d", [&]<typename T>() {
        Dims d = dims_of(g);
        BackwardInput<T> prob{d, gy.data_ptr<T>(), weight.data_ptr<T>(), gx.data_ptr<T>()};
        launch<T>(prob, d.cg, g.n * d.hw, g.groups);
    });
}

void conv2d_backward_weight(const Conv2dGeometry& g, const Tensor& x, const Tensor& gy,
                            const Tensor& gw) {
    visit_float(x.dtype(), "conv2d", [&]<typename T>() {
        Dims d = dims_of(g);
        BackwardWeight<T> prob{d, x.data_ptr<T>(), gy.data_ptr<T>(), gw.data_ptr<T>()};
        launch<T>(prob, d.og, d.kc, g.groups);
    });
}

}  // namespace marrow::cuda
