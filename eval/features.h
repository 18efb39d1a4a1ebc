// Checks shared by everything in eval/ that takes a feature matrix: a 2-D floating tensor
// (N, F) with N, F >= 1, every value finite. Errors name the function, the argument, the
// shape, and the first bad row and column.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::eval {

// Throws unless x is (N, F) floating with N >= 1, F >= 1 and no NaN or infinity; `op` and
// `what` name the caller and the argument ("KNeighborsClassifier.fit", "x").
void check_features(const Tensor& x, const char* op, const char* what = "x");

// The same checks, then x as a contiguous (N, F) `dtype` matrix on the CPU (a copy only when
// x is not one already).
Tensor host_matrix(const Tensor& x, DType dtype, const char* op, const char* what = "x");

// Throws unless y is (N) int64 with values in [0, num_classes) (num_classes < 0: >= 0);
// returns the labels on the host.
std::vector<int64_t> check_labels(const Tensor& y, int64_t n, const char* op,
                                  int64_t num_classes = -1);

}  // namespace marrow::eval
