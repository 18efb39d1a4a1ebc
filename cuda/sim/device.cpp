// The simulator's "device": one device whose memory is host memory and whose transfers are
// memcpy. (The nvcc build's runtime, with streams and a caching allocator over cudaMalloc,
// replaces this file.)
#include <cstdlib>
#include <cstring>

#include "cuda/cuda_kernels.h"
#include "tensor/error.h"

namespace marrow::cuda {

int device_count() { return 1; }
const char* device_name() { return "SIMT simulator"; }

void* device_allocate(size_t nbytes, int device_index) {
    MARROW_CHECK(device_index >= 0 && device_index < device_count(),
                 "cuda:{} does not exist: this build has {} device ({})", device_index,
                 device_count(), device_name());
    size_t bytes = (nbytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
    MARROW_CHECK(p != nullptr, "cuda:{}: out of memory allocating {} bytes", device_index, nbytes);
    return p;
}

void device_deallocate(void* p, size_t, int) { std::free(p); }

void synchronize(int) {}  // simulated launches complete before they return

void transfer(const Tensor& src, const Tensor& dst) {
    std::memcpy(dst.raw_data(), src.raw_data(), size_t(src.numel()) * src.element_size());
}

}  // namespace marrow::cuda
