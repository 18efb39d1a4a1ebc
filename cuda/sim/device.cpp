// The simulator's "device": one device whose memory is host memory, behind the same caching
// allocator as the nvcc build (so its reuse, statistics and errors are tested in CI), and
// whose transfers are memcpy. Its device-side index error record (Note [device-side index
// checks], cuda/stream.h) is a host struct that kernels fill through the simulated atomics; it
// is read where the nvcc build reads it, so the error surfaces at the same calls.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "cuda/cuda_kernels.h"
#include "cuda/stream.h"
#include "tensor/caching_allocator.h"

namespace marrow::cuda {
namespace {

void* raw_allocate(size_t bytes, int) { return std::aligned_alloc(64, bytes); }
void raw_free(void* p, size_t, int) { std::free(p); }

DeviceIndexError g_index_error;  // the one device's record
std::atomic<uint64_t> g_device_to_host{0};

// Raises (and clears) a recorded index error. Launches are synchronous, so a set record is
// complete; reading it costs nothing, so no "armed" flag as in cuda/runtime.cu.
void check_index_error() {
    if (std::atomic_ref<int32_t>(g_index_error.ready).load() == 0) return;
    DeviceIndexError snapshot = g_index_error;
    g_index_error = DeviceIndexError{};
    raise_device_index_error(snapshot, 0);
}

}  // namespace

DeviceRuntime device_runtime() {
    static CachingAllocator* allocator =  // never destroyed: tensors may outlive statics
        new CachingAllocator({raw_allocate, raw_free, nullptr}, {.device_prefix = "cuda"});
    return {allocator, [] { return 1; }, [](int) { return std::string("SIMT simulator"); }};
}

// Simulated launches complete before they return: only the error record is left to look at.
void synchronize(int) { check_index_error(); }

void transfer(const Tensor& src, const Tensor& dst) {
    std::memcpy(dst.raw_data(), src.raw_data(), size_t(src.numel()) * src.element_size());
    if (dst.device().type == DeviceType::cpu) {
        ++g_device_to_host;
        check_index_error();
    }
}

DeviceIndexError* device_index_error(int) { return &g_index_error; }
uint64_t device_to_host_transfers() { return g_device_to_host.load(); }

}  // namespace marrow::cuda
