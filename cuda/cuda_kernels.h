// Host launchers of the CUDA kernels (signatures from tensor/kernels.h); registered in
// cuda/register.cpp.
#pragma once
#include "tensor/kernels.h"
#include "tensor/storage.h"

namespace marrow::cuda {

void copy(const Tensor& src, const Tensor& dst);
void fill(const Tensor& dst, double value);
void unary(UnaryOp op, const UnaryParams& p, const Tensor& x, const Tensor& out);
void unary_backward(UnaryOp op, const UnaryParams& p, const Tensor& x, const Tensor& y,
                    const Tensor& g, const Tensor& gx);
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
void transfer(const Tensor& src, const Tensor& dst);
void synchronize(int device_index);
void reduce(ReduceOp op, const ReduceParams& p, const Tensor& x, const Tensor& values,
            const Tensor* indices);
void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta);
// The vendor provider (nvcc builds): MARROW_KERNELS=vendor selects it.
void gemm_cublas(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta);
void softmax(bool log, const Tensor& x, const Tensor& y);
void softmax_backward(bool log, const Tensor& y, const Tensor& g, const Tensor& gx);
void cumsum(const Tensor& x, const Tensor& y);
void index_select(const Tensor& x, const Tensor& index, const Tensor& out);
void index_add(const Tensor& src, const Tensor& index, const Tensor& out);
void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out);
void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src);
void sort(const Tensor& x, int64_t k, bool descending, bool stable, const Tensor& values,
          const Tensor& indices);
void random(RandomDist dist, uint64_t seed, uint64_t offset, const Tensor& out, double a, double b);

// Device query and the caching allocator over device memory (host memory in the simulator).
// With no device, device_name(0) says why (no driver, no GPU).
DeviceRuntime device_runtime();

}  // namespace marrow::cuda
