// The simulator's "device": one device whose memory is host memory, behind the same caching
// allocator as the nvcc build (so its reuse, statistics and errors are tested in CI), and
// whose transfers are memcpy.
#include <cstdlib>
#include <cstring>

#include "cuda/cuda_kernels.h"
#include "tensor/caching_allocator.h"

namespace marrow::cuda {
namespace {

void* raw_allocate(size_t bytes, int) { return std::aligned_alloc(64, bytes); }
void raw_free(void* p, size_t, int) { std::free(p); }

}  // namespace

DeviceRuntime device_runtime() {
    static CachingAllocator* allocator =  // never destroyed: tensors may outlive statics
        new CachingAllocator({raw_allocate, raw_free, nullptr}, {.device_prefix = "cuda"});
    return {allocator, [] { return 1; }, [](int) { return std::string("SIMT simulator"); }};
}

void synchronize(int) {}  // simulated launches complete before they return

void transfer(const Tensor& src, const Tensor& dst) {
    std::memcpy(dst.raw_data(), src.raw_data(), size_t(src.numel()) * src.element_size());
}

}  // namespace marrow::cuda
