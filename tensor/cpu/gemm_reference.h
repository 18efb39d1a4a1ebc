// The readable GEMM oracle: c = alpha * a @ b + beta * c, a (M x K), b (K x N), c (M x N),
// element (i, j) of each at p[i * rs + j * cs]. Accumulates in double. Used by tests to check
// the blocked kernel in tensor/cpu/gemm.cpp.
#pragma once
#include <cstdint>

namespace marrow::cpu {

template <typename T>
void gemm_reference(int64_t M, int64_t N, int64_t K, const T* a, int64_t ars, int64_t acs,
                    const T* b, int64_t brs, int64_t bcs, T* c, int64_t crs, int64_t ccs,
                    double alpha, double beta) {
    for (int64_t i = 0; i < M; ++i) {
        for (int64_t j = 0; j < N; ++j) {
            double sum = 0;
            for (int64_t k = 0; k < K; ++k)
                sum += double(a[i * ars + k * acs]) * b[k * brs + j * bcs];
            T& out = c[i * crs + j * ccs];
            out = T(alpha * sum + (beta == 0 ? 0.0 : beta * double(out)));
        }
    }
}

}  // namespace marrow::cpu
