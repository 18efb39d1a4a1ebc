// Host launchers of the CUDA kernels (signatures from tensor/kernels.h); registered in
// cuda/register.cpp.
#pragma once
#include "tensor/kernels.h"

namespace marrow::cuda {

void copy(const Tensor& src, const Tensor& dst);
void fill(const Tensor& dst, double value);
void unary(UnaryOp op, const UnaryParams& p, const Tensor& x, const Tensor& out);
void unary_backward(UnaryOp op, const UnaryParams& p, const Tensor& x, const Tensor& y,
                    const Tensor& g, const Tensor& gx);
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
void transfer(const Tensor& src, const Tensor& dst);
void reduce(ReduceOp op, const ReduceParams& p, const Tensor& x, const Tensor& values,
            const Tensor* indices);

// Device memory (host memory in the simulator).
void* device_allocate(size_t nbytes, int device_index);
void device_deallocate(void* p, size_t nbytes, int device_index);
int device_count();
const char* device_name();

}  // namespace marrow::cuda
