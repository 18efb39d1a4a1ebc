// cuBLAS as an optional vendor provider for GEMM (nvcc builds), for A/B benchmarks and as a
// second oracle on a real GPU; never the default. MARROW_KERNELS=vendor (read when the
// dispatch table is first filled) registers it instead of the hand-written kernel.
//
// Row-major to cuBLAS's column-major: C = A B (row-major, M x N) is C^T = B^T A^T in column
// major, so cuBLAS computes an N x M product with B as its first operand. A row-major
// operand with unit column stride is, read column-major, its own transpose (op N, ld = row
// stride); one with unit row stride is itself (op T, ld = column stride); anything else is
// made contiguous first.
#include <cublas_v2.h>

#include <map>
#include <mutex>

#include "cuda/check.h"
#include "cuda/cuda_kernels.h"
#include "cuda/stream.h"
#include "tensor/ops/copy.h"

namespace marrow::cuda {
namespace {

#define MARROW_CUBLAS_CHECK(call)                                                           \
    do {                                                                                    \
        cublasStatus_t marrow_status = (call);                                              \
        if (marrow_status != CUBLAS_STATUS_SUCCESS)                                         \
            ::marrow::fail("cuBLAS call {} failed at {}:{}: {}", #call, __FILE__, __LINE__, \
                           cublasGetStatusString(marrow_status));                           \
    } while (0)

cublasHandle_t handle(int device) {
    static std::mutex mutex;
    static std::map<int, cublasHandle_t> handles;
    std::lock_guard lock(mutex);
    auto it = handles.find(device);
    if (it != handles.end()) return it->second;
    MARROW_CUDA_CHECK(cudaSetDevice(device));
    cublasHandle_t h;
    MARROW_CUBLAS_CHECK(cublasCreate(&h));
    MARROW_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH));  // no TF32
    handles[device] = h;
    return h;
}

struct ColumnMajor {
    Tensor t;  // the (possibly copied) operand
    cublasOperation_t op;
    int64_t ld;
};

// How cuBLAS should read row-major `x` (B, rows, cols) so that op(x) is x^T.
ColumnMajor as_transposed(const Tensor& x) {
    int64_t rows = x.size(1), cols = x.size(2);
    if (x.stride(2) == 1 && x.stride(1) >= std::max<int64_t>(cols, 1))
        return {x, CUBLAS_OP_N, std::max<int64_t>(x.stride(1), 1)};
    if (x.stride(1) == 1 && x.stride(2) >= std::max<int64_t>(rows, 1))
        return {x, CUBLAS_OP_T, std::max<int64_t>(x.stride(2), 1)};
    Tensor c = op::contiguous(x);
    return {c, CUBLAS_OP_N, std::max<int64_t>(cols, 1)};
}

}  // namespace

void gemm_cublas(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta,
                 GemmPrecision precision) {
    int64_t batch = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
    if (batch == 0 || M == 0 || N == 0) return;
    ColumnMajor ca = as_transposed(a), cb = as_transposed(b);
    cublasHandle_t h = handle(a.device().index);
    MARROW_CUBLAS_CHECK(cublasSetStream(h, static_cast<cudaStream_t>(current_stream_handle())));
    auto i32 = [](int64_t v) { return int(v); };
    if (a.dtype() == DType::f32 && precision != GemmPrecision::full) {
        // Autocast: float32 in and out, cuBLAS down-converts to bf16 / f16 for its tensor
        // cores (its rounding of the operands is not documented: a peer, not an oracle).
        float al = float(alpha), be = float(beta);
        cublasComputeType_t compute = precision == GemmPrecision::bf16
                                          ? CUBLAS_COMPUTE_32F_FAST_16BF
                                          : CUBLAS_COMPUTE_32F_FAST_16F;
        MARROW_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
            h, cb.op, ca.op, i32(N), i32(M), i32(K), &al, cb.t.data_ptr<float>(), CUDA_R_32F,
            i32(cb.ld), cb.t.stride(0), ca.t.data_ptr<float>(), CUDA_R_32F, i32(ca.ld),
            ca.t.stride(0), &be, c.data_ptr<float>(), CUDA_R_32F, i32(N), M * N, i32(batch),
            compute, CUBLAS_GEMM_DEFAULT));
    } else if (a.dtype() == DType::f32) {
        float al = float(alpha), be = float(beta);
        MARROW_CUBLAS_CHECK(cublasSgemmStridedBatched(
            h, cb.op, ca.op, i32(N), i32(M), i32(K), &al, cb.t.data_ptr<float>(), i32(cb.ld),
            cb.t.stride(0), ca.t.data_ptr<float>(), i32(ca.ld), ca.t.stride(0), &be,
            c.data_ptr<float>(), i32(N), M * N, i32(batch)));
    } else if (a.dtype() == DType::f64) {
        MARROW_CUBLAS_CHECK(cublasDgemmStridedBatched(
            h, cb.op, ca.op, i32(N), i32(M), i32(K), &alpha, cb.t.data_ptr<double>(), i32(cb.ld),
            cb.t.stride(0), ca.t.data_ptr<double>(), i32(ca.ld), ca.t.stride(0), &beta,
            c.data_ptr<double>(), i32(N), M * N, i32(batch)));
    } else {
        fail("gemm (cuBLAS): dtype {} is not supported", a.dtype());
    }
}

}  // namespace marrow::cuda
