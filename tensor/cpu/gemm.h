// The blocked CPU GEMM (tensor/cpu/gemm.cpp) for other CPU kernels: serial calls (the caller
// runs one per thread, e.g. one image each) and an implicit-B form whose B operand packs its
// own panels, so a convolution packs im2col panels straight from the image without writing
// the column matrix (tensor/cpu/conv.cpp).
#pragma once
#include <cstdint>

namespace marrow::cpu {

// B (K x N) given by what it packs: rows [k0, k0 + kc) of columns [j0, j0 + nr) into
// dst[k * nr_width + j] for k < kc, j < nr_width (columns nr..nr_width-1 zero). nr_width is
// the micro-kernel's width (gemm_nr), nr <= nr_width.
template <typename T>
class PanelSource {
public:
    virtual ~PanelSource() = default;
    virtual void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nr, int64_t nr_width,
                      T* dst) const = 0;
};

// c (row stride ldc) = alpha * a @ b + beta * c on the calling thread, element (i, j) of a at
// a[i * a_rs + j * a_cs] (b alike). beta == 0 ignores c's old contents.
template <typename T>
void gemm_serial_strided(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs,
                         const T* b, int64_t b_rs, int64_t b_cs, T* c, int64_t ldc, T alpha,
                         T beta);
// The same with B packed by `b`.
template <typename T>
void gemm_serial_panels(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs,
                        const PanelSource<T>& b, T* c, int64_t ldc, T alpha, T beta);

}  // namespace marrow::cpu
