// Input checks shared by PCA, UMAP and the embedding-quality scores: a 2-D floating tensor
// (N, F) with N > 0 and F > 0, brought to the host as a contiguous matrix of the wanted dtype,
// with every entry finite (a NaN or infinity is an error naming its row and column).
#pragma once
#include "tensor/tensor.h"

namespace marrow::eval {

// x: (N, F) floating, any device and strides -> contiguous (N, F) `dtype` on the CPU.
// `op` names the calling function in errors, `what` the argument ("X", "X_embedded").
Tensor host_matrix(const Tensor& x, DType dtype, const char* op, const char* what);

}  // namespace marrow::eval
