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

// A (M x K) packed once into the micro-kernel's row slivers for every K slice, for many
// products that share it (a convolution's weight: every image, every thread). The caller
// owns the memory (packed_a_size elements), e.g. from the caching allocator.
template <typename T>
struct PackedA {
    const T* data = nullptr;
    int64_t rows = 0, depth = 0, ld = 0;  // ld: rows rounded up to the micro-kernel's MR
};
template <typename T>
int64_t packed_a_size(int64_t M, int64_t K);
// Packs element (i, k) = a[i * a_rs + k * a_cs] into dst; the slivers are split over the
// threads.
template <typename T>
PackedA<T> pack_a_once(int64_t M, int64_t K, const T* a, int64_t a_rs, int64_t a_cs, T* dst);
// c = alpha * a @ b + beta * c with a packed by pack_a_once (same process, same ISA) and b a
// strided matrix (b_rs, b_cs) or, when `source` is given, packed by it (b unused).
template <typename T>
void gemm_serial_packed_a(const PackedA<T>& a, int64_t N, const T* b, int64_t b_rs, int64_t b_cs,
                          const PanelSource<T>* source, T* c, int64_t ldc, T alpha, T beta);

}  // namespace marrow::cpu
