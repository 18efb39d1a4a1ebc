// CPU GEMM: c = alpha * a @ b + beta * c for batched, arbitrarily strided a and b.
//
// Layout follows BLIS (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating
// BLAS Functionality", TOMS 2015): for each KC-deep slice of K, b is packed into NR-wide column
// slivers and a, one MC-row block at a time, into MR-tall row slivers (zero-padded at the
// edges, so the micro-kernel never branches); an MR x NR micro-kernel keeps its tile of c in
// registers for the whole KC loop. Packing also absorbs any strides, so transposed operands
// cost nothing extra. The micro-kernel uses GCC vector extensions and is compiled for
// AVX-512 (12 x 32 floats), AVX2+FMA and baseline x86-64 (6 x 16), picked at run time by
// cpu_isa() (MARROW_CPU_ISA=avx2 or base forces the others). The triple loop `gemm_reference`
// stays as the readable oracle (tests compare against it).
#include <algorithm>
#include <cstring>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/gemm_bf16.h"
#include "tensor/cpu/gemm_reference.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/loops.h"

namespace marrow::cpu {
namespace {

// Blocking per ISA. The micro-kernel's MR x NR tile of c lives in registers: AVX-512 holds
// 12 x 32 floats in 24 zmm accumulators (+ 2 for b, 1 broadcast of a, of 32); AVX2 6 x 16 in
// 12 ymm (of 16). KC = 512: with K = 512 one slice (the C tile is loaded and stored once);
// against 384, timed pairwise with oneDNN, 512^3 and 1024^3 gained ~1%, 2048^3 on one thread
// 118 -> 114 ms, on two within noise (a KC x NR sliver of b is 64 KB, streamed from L2 next to
// the 48 KB L1; the MR x KC sliver of a streams too); MC x KC of a (144 x 512 floats = 288 KB)
// stays in the 2 MB L2; KC x NC of b in L3. docs/perf/cpu.md has the measurements.
template <typename T, int MR_, int NR_, int VecBytes_>
struct Config {
    static constexpr int64_t MR = MR_, NR = NR_, KC = 512, MC = MR_ * (sizeof(T) == 4 ? 12 : 16),
                             NC = NR_ * 96;
    static constexpr int VecBytes = VecBytes_;
};
template <typename T>
using Avx512Config = Config<T, 12, 128 / int(sizeof(T)), 64>;  // float 12 x 32, double 12 x 16
template <typename T>
using Avx2Config = Config<T, 6, 64 / int(sizeof(T)), 32>;  // float 6 x 16, double 6 x 8

template <typename T, int Bytes>
struct VecOf {
    typedef T type __attribute__((vector_size(Bytes)));
};

// The MR x NR tile at c (row stride ldc; only its first mr x nr part exists at the edges):
// c = alpha * sum_k a(:, k) (x) b(k, :) + beta * c (beta == 0: c is not read). Full tiles are
// updated straight from the registers. Packed operands (Direct = false): a(r, k) = a[k MR + r],
// b(k, :) at b + k NR. Direct: a(r, k) = a[r lda + k] and b(k, :) at b + k ldb, read in place
// from row-major matrices (the small-matrix path: no packing).
template <typename T, typename C, bool Direct>
[[gnu::always_inline]] inline void micro_kernel_body(int64_t kc, const T* __restrict a, int64_t lda,
                                                     const T* __restrict b, int64_t ldb,
                                                     T* __restrict c, int64_t ldc, T alpha, T beta,
                                                     int64_t mr, int64_t nr) {
    using V = typename VecOf<T, C::VecBytes>::type;
    constexpr int kW = int(C::VecBytes / sizeof(T));
    constexpr int kCols = int(C::NR) / kW;
    V acc[C::MR][kCols] = {};
    const V ones = V{} + T(1);  // ones * a[r] is a plain broadcast (x * 1 folds; 0 + x would not)
    if (mr == C::MR && nr == C::NR)  // the tile's lines arrive while the products run
        for (int r = 0; r < int(C::MR); ++r)
            for (int j = 0; j < kCols; ++j) __builtin_prefetch(c + r * ldc + j * kW, 1);
#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; ++k) {
        V bv[kCols];
        for (int j = 0; j < kCols; ++j) std::memcpy(&bv[j], b + j * kW, sizeof(V));
        // b 16 steps ahead: with KC = 512 a sliver (64 KB) exceeds L1 and streams from L2
        // (1 thread: 1024^3 14.8 -> 14.6 ms, 2048^3 116 -> 114).
        if constexpr (!Direct)
            for (int j = 0; j < kCols; ++j) __builtin_prefetch(b + 16 * C::NR + j * kW);
        for (int r = 0; r < int(C::MR); ++r) {
            V av = ones * (Direct ? a[r * lda] : a[r]);
            for (int j = 0; j < kCols; ++j) acc[r][j] += av * bv[j];
        }
        a += Direct ? 1 : C::MR;
        b += Direct ? ldb : C::NR;
    }
    if (mr == C::MR && nr == C::NR) {
        for (int r = 0; r < int(C::MR); ++r)
            for (int j = 0; j < kCols; ++j) {
                T* dst = c + r * ldc + j * kW;
                V out = acc[r][j] * alpha;
                if (beta != T(0)) {
                    V old;
                    std::memcpy(&old, dst, sizeof(V));
                    out += old * beta;
                }
                std::memcpy(dst, &out, sizeof(V));
            }
        return;
    }
    alignas(64) T tile[C::MR * C::NR];
    for (int r = 0; r < int(C::MR); ++r)
        for (int j = 0; j < kCols; ++j)
            std::memcpy(tile + r * C::NR + j * kW, &acc[r][j], sizeof(V));
    for (int64_t r = 0; r < mr; ++r)
        for (int64_t j = 0; j < nr; ++j) {
            T v = alpha * tile[r * C::NR + j];
            c[r * ldc + j] = beta == T(0) ? v : v + beta * c[r * ldc + j];
        }
}

template <typename T>
using Kernel = void (*)(int64_t kc, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                        int64_t ldc, T alpha, T beta, int64_t mr, int64_t nr);
template <typename T>
struct Kernels {
    Kernel<T> packed, direct;
};

// Vectors wider than the baseline ABI pass only between always-inlined helpers.
#pragma GCC diagnostic ignored "-Wpsabi"

#define MARROW_KERNEL_ARGS                                                                    \
    int64_t kc, const T *a, int64_t lda, const T *b, int64_t ldb, T *c, int64_t ldc, T alpha, \
        T beta, int64_t mr, int64_t nr
#define MARROW_KERNEL(name, target, config)                                                       \
    template <typename T, bool Direct>                                                            \
    target void name(MARROW_KERNEL_ARGS) {                                                        \
        micro_kernel_body<T, config<T>, Direct>(kc, a, lda, b, ldb, c, ldc, alpha, beta, mr, nr); \
    }
MARROW_KERNEL(micro_kernel_avx512, MARROW_TARGET_AVX512, Avx512Config)
MARROW_KERNEL(micro_kernel_avx2, MARROW_TARGET_AVX2, Avx2Config)
MARROW_KERNEL(micro_kernel_base, , Avx2Config)
#undef MARROW_KERNEL
#undef MARROW_KERNEL_ARGS

struct Matrix {  // element (i, j) at p[i * rs + j * cs]
    int64_t rs, cs;
};

// Packs rows [i0, i0+mc) x cols [k0, k0+kc) of a into MR-row slivers: dst[s][k][r]. The k loop
// is outside so the stores are contiguous; the MR source rows are read as MR parallel streams
// (unit stride when a is row-major, the common case, specialized so it vectorizes).
template <typename T, typename C>
void pack_a(const T* a, Matrix m, int64_t rows, int64_t i0, int64_t mc, int64_t k0, int64_t kc,
            T* dst) {
    constexpr int64_t MR = C::MR;
    for (int64_t s = 0; s < mc; s += MR) {
        T* d = dst + s * kc;
        int64_t valid = std::clamp<int64_t>(std::min(mc - s, rows - (i0 + s)), 0, MR);
        const T* src[MR];
        for (int64_t r = 0; r < MR; ++r)
            src[r] = a + (i0 + s + std::min(r, valid - 1)) * m.rs + k0 * m.cs;
        if (valid == MR && m.cs == 1) {
            for (int64_t k = 0; k < kc; ++k)
                for (int64_t r = 0; r < MR; ++r) d[k * MR + r] = src[r][k];
        } else if (valid == MR && m.rs == 1) {  // a transposed: the MR rows are contiguous
            for (int64_t k = 0; k < kc; ++k)
                std::memcpy(d + k * MR, src[0] + k * m.cs, MR * sizeof(T));
        } else {
            for (int64_t k = 0; k < kc; ++k)
                for (int64_t r = 0; r < MR; ++r)
                    d[k * MR + r] = r < valid ? src[r][k * m.cs] : T(0);
        }
    }
}

// Packs sliver s (NR columns from j0 + s*NR) of rows [k0, k0+kc) of b: dst[k][c]; whole
// contiguous rows of NR are plain copies.
template <typename T, typename C>
void pack_b_sliver(const T* b, Matrix m, int64_t cols, int64_t k0, int64_t kc, int64_t j0,
                   int64_t nc, int64_t s, T* dst) {
    constexpr int64_t NR = C::NR;
    T* d = dst + s * NR * kc;
    int64_t first = j0 + s * NR;
    int64_t valid = std::clamp<int64_t>(std::min(nc - s * NR, cols - first), 0, NR);
    for (int64_t k = 0; k < kc; ++k) {
        const T* src = b + (k0 + k) * m.rs + first * m.cs;
        if (valid == NR && m.cs == 1) {
            std::memcpy(d + k * NR, src, NR * sizeof(T));
        } else {
            for (int64_t c = 0; c < NR; ++c) d[k * NR + c] = c < valid ? src[c * m.cs] : T(0);
        }
    }
}

// Packing buffers live per thread and only grow: allocating them per call would mmap/munmap
// a fresh block each time, and munmap in a multi-threaded process costs a TLB shootdown.
// Slots: 0 = b panel, 1 = a block, 2 = an operand shared by the threads of one product,
// 3 / 4 = a / b shared by the matrices of a batch (Packed).
template <typename T>
T* packing_buffer(int slot, int64_t n) {
    struct Buffer {
        void* p = nullptr;
        size_t bytes = 0;
        ~Buffer() { std::free(p); }
    };
    thread_local Buffer buffers[5];
    Buffer& b = buffers[slot];
    size_t bytes = (size_t(n) * sizeof(T) + 63) / 64 * 64;
    if (b.bytes < bytes) {
        std::free(b.p);
        b.p = std::aligned_alloc(64, bytes);
        if (!b.p) fail("gemm: out of memory for a {} byte packing buffer", bytes);
        b.bytes = bytes;
    }
    return static_cast<T*>(b.p);
}

// K in equal slices of at most KC (600 = 300 + 300, not 512 + 88: a short last slice pays the
// C tile update for few products).
template <typename B>
int64_t k_slice(int64_t K) {
    int64_t slices = (K + B::KC - 1) / B::KC;
    return (K + slices - 1) / slices;
}

// A whole operand packed once for every K slice, to be shared: by the threads of one product
// (each packs half of the slivers of the operand both need) and by the matrices of a batch
// whose operand is broadcast (stride 0). For a: the slice at depth pc holds the MR-row slivers
// of all rows (rows rounded up to MR = `ld`), sliver s at base + pc * ld + s * MR * kc; for b
// the same with NR-column slivers. `first` is the row (column) of the sub-product's first
// sliver, so a sub-product's block at (pc, i) is at base + pc * ld + (first + i) * kc.
template <typename T>
struct Packed {
    const T* base = nullptr;
    int64_t ld = 0, first = 0;
    const T* at(int64_t pc, int64_t i, int64_t kc) const { return base + pc * ld + (first + i) * kc; }
    Packed from(int64_t offset) const { return {base, ld, first + offset}; }
};

// Packs slivers [s0, s1) of a (is_a) or b, for every K slice, into dst laid out as in Packed.
template <typename T, typename B>
void pack_whole(bool is_a, const T* p, Matrix m, int64_t rows_or_cols, int64_t K, int64_t s0,
                int64_t s1, T* dst) {
    int64_t unit = is_a ? B::MR : B::NR;
    int64_t ld = (rows_or_cols + unit - 1) / unit * unit, step = k_slice<B>(K);
    for (int64_t pc = 0; pc < K; pc += step) {
        int64_t kc = std::min(step, K - pc);
        T* slice = dst + pc * ld;
        if (is_a)
            pack_a<T, B>(p, m, rows_or_cols, s0 * unit, (s1 - s0) * unit, pc, kc,
                         slice + s0 * unit * kc);
        else
            for (int64_t s = s0; s < s1; ++s)
                pack_b_sliver<T, B>(p, m, rows_or_cols, pc, kc, 0, ld, s, slice);
    }
}

template <typename B>
int64_t whole_size(int64_t rows_or_cols, int64_t K, bool is_a) {
    int64_t unit = is_a ? B::MR : B::NR;
    return (rows_or_cols + unit - 1) / unit * unit * K;
}

// Small or skinny products of row-major operands read their full MR x NR tiles straight from
// the matrices (packing would cost as much as the arithmetic); gemm_serial's direct path.
template <typename B>
bool use_direct(int64_t M, int64_t N, int64_t K, Matrix am, Matrix bm) {
    return am.cs == 1 && bm.cs == 1 && M >= B::MR && N >= B::NR &&
           (double(M) * double(N) * double(K) <= double(1 << 24) || N <= 2 * B::NR);
}

// One (M x K) @ (K x N) product into c (row stride ldc), on the calling thread; a and b are
// packed here unless given packed (pa, pb); `source` (implicit GEMM) packs b's panels itself.
template <typename T, typename B>
void gemm_serial(int64_t M, int64_t N, int64_t K, const T* a, Matrix am, const T* b, Matrix bm,
                 T* c, int64_t ldc, T alpha, T beta, const Kernels<T>& kernels,
                 bool allow_direct = true, Packed<T> pa = {}, Packed<T> pb = {},
                 const PanelSource<T>* source = nullptr) {
    if (allow_direct && !source && !pa.base && !pb.base && use_direct<B>(M, N, K, am, bm)) {
        int64_t M0 = M / B::MR * B::MR, N0 = N / B::NR * B::NR;
        for (int64_t j = 0; j < N0; j += B::NR)
            for (int64_t i = 0; i < M0; i += B::MR)
                kernels.direct(K, a + i * am.rs, am.rs, b + j, bm.rs, c + i * ldc + j, ldc, alpha,
                               beta, B::MR, B::NR);
        if (N0 < N)
            gemm_serial<T, B>(M, N - N0, K, a, am, b + N0, bm, c + N0, ldc, alpha, beta, kernels,
                              false);
        if (M0 < M)
            gemm_serial<T, B>(M - M0, N0, K, a + M0 * am.rs, am, b, bm, c + M0 * ldc, ldc, alpha,
                              beta, kernels, false);
        return;
    }
    T* bbuf = pb.base ? nullptr
                      : packing_buffer<T>(0, B::KC * ((std::min(N, B::NC) + B::NR - 1) / B::NR *
                                                      B::NR));
    T* abuf = pa.base ? nullptr : packing_buffer<T>(1, B::KC * B::MC);
    int64_t step = k_slice<B>(K);
    for (int64_t jc = 0; jc < N; jc += B::NC) {
        int64_t nc = std::min(B::NC, N - jc);
        int64_t n_slivers = (nc + B::NR - 1) / B::NR;
        for (int64_t pc = 0; pc < K; pc += step) {
            int64_t kc = std::min(step, K - pc);
            T beta_eff = pc == 0 ? beta : T(1);
            const T* bpack = pb.base ? pb.at(pc, jc, kc) : bbuf;
            if (source)
                for (int64_t s = 0; s < n_slivers; ++s)
                    source->pack(pc, kc, jc + s * B::NR, std::min(B::NR, nc - s * B::NR), B::NR,
                                 bbuf + s * B::NR * kc);
            else if (!pb.base)
                for (int64_t s = 0; s < n_slivers; ++s)
                    pack_b_sliver<T, B>(b, bm, N, pc, kc, jc, nc, s, bbuf);
            for (int64_t ic = 0; ic < M; ic += B::MC) {
                int64_t mc = std::min(B::MC, M - ic);
                const T* apack = pa.base ? pa.at(pc, ic, kc) : abuf;
                if (!pa.base) pack_a<T, B>(a, am, M, ic, mc, pc, kc, abuf);
                int64_t m_slivers = (mc + B::MR - 1) / B::MR;
                for (int64_t js = 0; js < n_slivers; ++js) {
                    for (int64_t is = 0; is < m_slivers; ++is) {
                        int64_t i0 = ic + is * B::MR, j0 = jc + js * B::NR;
                        kernels.packed(kc, apack + is * B::MR * kc, 0, bpack + js * B::NR * kc, 0,
                                       c + i0 * ldc + j0, ldc, alpha, beta_eff,
                                       std::min(B::MR, M - i0), std::min(B::NR, N - j0));
                    }
                }
            }
        }
    }
}

// The shared operand of two threads is packed once, half by each, when it fits in this many
// bytes (it is as large as the operand itself); larger ones are packed by each thread.
inline constexpr int64_t kSharedPackBytes = int64_t(64) << 20;

// One product into contiguous c (ldc = N). With threads, the product is cut into one
// sub-product per thread: column ranges of NR slivers when N is the larger side (both threads
// need all of a), else row ranges of MR slivers (both need all of b). The operand both need is
// packed once, each thread packing half of its slivers, then one barrier; each thread packs
// its own part of the other operand. pa / pb: operands already packed by the caller.
template <typename T, typename B>
void gemm_one(int64_t M, int64_t N, int64_t K, const T* a, Matrix am, const T* b, Matrix bm, T* c,
              T alpha, T beta, bool parallel, const Kernels<T>& kernels, Packed<T> pa = {},
              Packed<T> pb = {}) {
    if (K == 0) {  // no products: c = beta * c
        for (int64_t i = 0; i < M * N; ++i) c[i] = beta == T(0) ? T(0) : beta * c[i];
        return;
    }
    int threads = parallel ? omp_get_max_threads() : 1;
    if (threads == 1)
        return gemm_serial<T, B>(M, N, K, a, am, b, bm, c, N, alpha, beta, kernels, true, pa, pb);
    // Skinny products read in place (use_direct) split by columns too: each thread then reads
    // a once (512 x 64 x 4096: 0.87 ms per half against 0.97 split by rows, 1 thread each).
    bool split_n = N >= M || (use_direct<B>(M, N, K, am, bm) && N >= threads * B::NR);
    int64_t unit = split_n ? B::NR : B::MR, extent = split_n ? N : M;
    int64_t units = (extent + unit - 1) / unit;
    int64_t sub_m = split_n ? M : (units + threads - 1) / threads * unit;
    int64_t sub_n = split_n ? (units + threads - 1) / threads * unit : N;
    // The operand every thread needs: a when splitting N, b when splitting M.
    bool share = !(split_n ? pa.base : pb.base) && !use_direct<B>(sub_m, sub_n, K, am, bm) &&
                 whole_size<B>(split_n ? M : N, K, split_n) * int64_t(sizeof(T)) <=
                     kSharedPackBytes;
    T* shared = share ? packing_buffer<T>(2, whole_size<B>(split_n ? M : N, K, split_n))
                      : nullptr;
    int64_t shared_slivers = split_n ? (M + B::MR - 1) / B::MR : (N + B::NR - 1) / B::NR;
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), team = omp_get_num_threads();
        if (share) {
            pack_whole<T, B>(split_n, split_n ? a : b, split_n ? am : bm, split_n ? M : N, K,
                             shared_slivers * t / team, shared_slivers * (t + 1) / team, shared);
#pragma omp barrier
        }
        Packed<T> whole{shared, shared_slivers * (split_n ? B::MR : B::NR), 0};
        Packed<T> my_a = split_n && share ? whole : pa, my_b = !split_n && share ? whole : pb;
        int64_t lo = std::min(extent, units * t / team * unit);
        int64_t hi = std::min(extent, units * (t + 1) / team * unit);
        if (hi > lo) {
            if (split_n)
                gemm_serial<T, B>(M, hi - lo, K, a, am, b + lo * bm.cs, bm, c + lo, N, alpha, beta,
                                  kernels, true, my_a, my_b.base ? my_b.from(lo) : my_b);
            else
                gemm_serial<T, B>(hi - lo, N, K, a + lo * am.rs, am, b, bm, c + lo * N, N, alpha,
                                  beta, kernels, true, my_a.base ? my_a.from(lo) : my_a, my_b);
        }
    }
}

// A batch of products: c[i] = alpha a[i] @ b[i] + beta c[i]. An operand broadcast over the
// batch (stride 0, e.g. matmul of (M, K) with (batch, K, N)) is packed once for all of them.
// Threads: one matrix each when the batch is long (>= 4 per thread) or the matrices tiny;
// otherwise each product from ~100^3 on is split across the threads (a parallel region costs
// ~8 us here: 128^3 runs in 0.030 ms on one thread, 0.018 on two).
template <typename T, typename B>
void gemm_batch(const Tensor& a, const Tensor& b, const Tensor& c, T alpha, T beta,
                const Kernels<T>& kernels) {
    int64_t batch = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pc = c.data<T>();
    Matrix am{a.stride(1), a.stride(2)}, bm{b.stride(1), b.stride(2)};
    double mnk = double(M) * double(N) * double(K);
    bool across_batch = batch > 1 && double(batch) * mnk >= double(kParallelGrain) &&
                        (batch >= 4 * omp_get_max_threads() || mnk < double(1 << 20));
    bool big = !across_batch && mnk >= double(1 << 20);
    Packed<T> packed[2];  // a, b
    if (batch > 1 && K > 0 && !use_direct<B>(M, N, K, am, bm)) {
        for (int which = 0; which < 2; ++which) {
            bool is_a = which == 0;
            if ((is_a ? a : b).stride(0) != 0) continue;
            int64_t extent = is_a ? M : N, unit = is_a ? B::MR : B::NR;
            int64_t slivers = (extent + unit - 1) / unit;
            T* dst = packing_buffer<T>(3 + which, whole_size<B>(extent, K, is_a));
#pragma omp parallel if (slivers * K >= kParallelGrain)
            {
                int t = omp_get_thread_num(), team = omp_get_num_threads();
                pack_whole<T, B>(is_a, is_a ? pa : pb, is_a ? am : bm, extent, K,
                                 slivers * t / team, slivers * (t + 1) / team, dst);
            }
            packed[which] = {dst, slivers * unit, 0};
        }
    }
    auto one = [&](int64_t i) {
        gemm_one<T, B>(M, N, K, pa + i * a.stride(0), am, pb + i * b.stride(0), bm, pc + i * M * N,
                       alpha, beta, big, kernels, packed[0], packed[1]);
    };
    // Not `parallel for if (across_batch)`: a parallel region nested in an inactive one gets
    // freshly created threads from libgomp on every call (~170 us here, against ~8 us for a
    // top-level region), which cost 512^3 on 2 threads 17%.
    if (across_batch) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < batch; ++i) one(i);
    } else {
        for (int64_t i = 0; i < batch; ++i) one(i);
    }
}

// The micro-kernels of cpu_isa(), and a call of fn with them and the matching blocking.
template <typename T, typename Fn>
void with_isa_config(Fn&& fn) {
    switch (cpu_isa()) {
        case Isa::avx512:
            return fn.template operator()<Avx512Config<T>>(
                Kernels<T>{micro_kernel_avx512<T, false>, micro_kernel_avx512<T, true>});
        case Isa::avx2:
            return fn.template operator()<Avx2Config<T>>(
                Kernels<T>{micro_kernel_avx2<T, false>, micro_kernel_avx2<T, true>});
        case Isa::base:
            return fn.template operator()<Avx2Config<T>>(
                Kernels<T>{micro_kernel_base<T, false>, micro_kernel_base<T, true>});
    }
}

}  // namespace

template <typename T>
void gemm_serial_strided(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs,
                         const T* b, int64_t b_rs, int64_t b_cs, T* c, int64_t ldc, T alpha,
                         T beta) {
    if (M == 0 || N == 0) return;
    with_isa_config<T>([&]<typename B>(const Kernels<T>& kernels) {
        if (K == 0) {
            for (int64_t i = 0; i < M; ++i)
                for (int64_t j = 0; j < N; ++j)
                    c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
            return;
        }
        gemm_serial<T, B>(M, N, K, a, {a_rs, a_cs}, b, {b_rs, b_cs}, c, ldc, alpha, beta, kernels);
    });
}

template <typename T>
void gemm_serial_panels(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs,
                        const PanelSource<T>& b, T* c, int64_t ldc, T alpha, T beta) {
    if (M == 0 || N == 0) return;
    MARROW_CHECK(K > 0, "gemm_serial_panels: K = 0");
    with_isa_config<T>([&]<typename B>(const Kernels<T>& kernels) {
        gemm_serial<T, B>(M, N, K, a, {a_rs, a_cs}, nullptr, {0, 0}, c, ldc, alpha, beta, kernels,
                          false, {}, {}, &b);
    });
}

template <typename T>
int64_t packed_a_size(int64_t M, int64_t K) {
    int64_t size = 0;
    with_isa_config<T>([&]<typename B>(const Kernels<T>&) { size = whole_size<B>(M, K, true); });
    return size;
}

template <typename T>
PackedA<T> pack_a_once(int64_t M, int64_t K, const T* a, int64_t a_rs, int64_t a_cs, T* dst) {
    PackedA<T> out{dst, M, K, 0};
    with_isa_config<T>([&]<typename B>(const Kernels<T>&) {
        int64_t slivers = (M + B::MR - 1) / B::MR;
        out.ld = slivers * B::MR;
#pragma omp parallel if (M * K >= kParallelGrain * 4)
        {
            int t = omp_get_thread_num(), team = omp_get_num_threads();
            pack_whole<T, B>(true, a, {a_rs, a_cs}, M, K, slivers * t / team,
                             slivers * (t + 1) / team, dst);
        }
    });
    return out;
}

template <typename T>
void gemm_serial_packed_a(const PackedA<T>& a, int64_t N, const T* b, int64_t b_rs,
                          int64_t b_cs, const PanelSource<T>* source, T* c, int64_t ldc, T alpha,
                          T beta) {
    if (a.rows == 0 || N == 0) return;
    MARROW_CHECK(a.depth > 0, "gemm_serial_packed_a: K = 0");
    with_isa_config<T>([&]<typename B>(const Kernels<T>& kernels) {
        MARROW_CHECK(a.ld == (a.rows + B::MR - 1) / B::MR * B::MR,
                     "gemm_serial_packed_a: A was packed for another micro-kernel");
        gemm_serial<T, B>(a.rows, N, a.depth, nullptr, {0, 0}, b, {b_rs, b_cs}, c, ldc, alpha,
                          beta, kernels, false, Packed<T>{a.data, a.ld, 0}, {}, source);
    });
}

#define MARROW_GEMM_SERIAL(T)                                                                    \
    template void gemm_serial_strided<T>(int64_t, int64_t, int64_t, const T*, int64_t, int64_t, \
                                         const T*, int64_t, int64_t, T*, int64_t, T, T);        \
    template void gemm_serial_panels<T>(int64_t, int64_t, int64_t, const T*, int64_t, int64_t,  \
                                        const PanelSource<T>&, T*, int64_t, T, T);       \
    template int64_t packed_a_size<T>(int64_t, int64_t);                                       \
    template PackedA<T> pack_a_once<T>(int64_t, int64_t, const T*, int64_t, int64_t, T*);      \
    template void gemm_serial_packed_a<T>(const PackedA<T>&, int64_t, const T*, int64_t,        \
                                          int64_t, const PanelSource<T>*, T*, int64_t, T, T);
MARROW_GEMM_SERIAL(float)
MARROW_GEMM_SERIAL(double)
#undef MARROW_GEMM_SERIAL

void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta,
          GemmPrecision precision) {
    if (precision != GemmPrecision::full && a.dtype() == DType::f32)
        return gemm_low_precision(a, b, c, alpha, beta, precision);  // tensor/cpu/gemm_bf16.cpp
    visit_float(a.dtype(), "gemm", [&]<typename T>() {
        switch (cpu_isa()) {
            case Isa::avx512:
                return gemm_batch<T, Avx512Config<T>>(
                    a, b, c, T(alpha), T(beta),
                    {micro_kernel_avx512<T, false>, micro_kernel_avx512<T, true>});
            case Isa::avx2:
                return gemm_batch<T, Avx2Config<T>>(
                    a, b, c, T(alpha), T(beta),
                    {micro_kernel_avx2<T, false>, micro_kernel_avx2<T, true>});
            case Isa::base:
                return gemm_batch<T, Avx2Config<T>>(
                    a, b, c, T(alpha), T(beta),
                    {micro_kernel_base<T, false>, micro_kernel_base<T, true>});
        }
    });
}

}  // namespace marrow::cpu
