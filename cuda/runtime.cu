// The CUDA runtime side of the nvcc build: device query, a caching device allocator, and
// host<->device transfers. (The simulator's counterpart is cuda/sim/device.cpp.)
//
// Caching allocator: blocks are rounded to size classes (512 B granularity below 1 MB, then
// four classes per power of two) and kept per device on free, so training loops stop calling
// cudaMalloc/cudaFree (which synchronize the device). When cudaMalloc fails, the cache is
// released and the allocation retried once; a second failure is an Error stating the
// requested, free and cached bytes.
#include <map>
#include <mutex>
#include <vector>

#include "cuda/check.h"
#include "cuda/cuda_kernels.h"
#include "cuda/stream.h"

namespace marrow::cuda {
namespace {

struct DeviceCache {
    std::map<size_t, std::vector<void*>> free_blocks;
    size_t cached_bytes = 0;
    size_t allocated_bytes = 0;
};

struct Allocator {
    std::mutex mutex;
    std::map<int, DeviceCache> devices;
};
Allocator& allocator() {
    static Allocator* a = new Allocator;  // never destroyed: tensors may outlive statics
    return *a;
}

size_t size_class(size_t n) {
    if (n < (size_t(1) << 20)) return (n + 511) / 512 * 512;
    size_t top = size_t(1) << (63 - __builtin_clzll(n));
    size_t step = top / 4;
    return (n + step - 1) / step * step;
}

void release_cache(int device, DeviceCache& cache) {
    MARROW_CUDA_CHECK(cudaSetDevice(device));
    for (auto& [bytes, blocks] : cache.free_blocks)
        for (void* p : blocks) MARROW_CUDA_CHECK(cudaFree(p));
    cache.free_blocks.clear();
    cache.cached_bytes = 0;
}

}  // namespace

int device_count() {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver) return 0;
    MARROW_CUDA_CHECK(err);
    return n;
}

const char* device_name() {
    static std::string name = [] {
        if (device_count() == 0) return std::string("no CUDA device");
        cudaDeviceProp prop{};
        MARROW_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
        return std::string(prop.name);
    }();
    return name.c_str();
}

void* device_allocate(size_t nbytes, int device) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    MARROW_CHECK(err == cudaSuccess && count > 0, "cuda:{}: no CUDA device available ({})", device,
                 err == cudaSuccess ? "the driver reports 0 devices" : cudaGetErrorString(err));
    MARROW_CHECK(device >= 0 && device < count, "cuda:{} does not exist: {} CUDA device(s)", device,
                 count);
    size_t bytes = size_class(nbytes == 0 ? 1 : nbytes);
    Allocator& a = allocator();
    std::lock_guard lock(a.mutex);
    DeviceCache& cache = a.devices[device];
    auto it = cache.free_blocks.find(bytes);
    if (it != cache.free_blocks.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cache.cached_bytes -= bytes;
        cache.allocated_bytes += bytes;
        return p;
    }
    MARROW_CUDA_CHECK(cudaSetDevice(device));
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
        (void)cudaGetLastError();
        release_cache(device, cache);
        if (cudaMalloc(&p, bytes) != cudaSuccess) {
            (void)cudaGetLastError();
            size_t free_bytes = 0, total = 0;
            cudaMemGetInfo(&free_bytes, &total);
            fail(
                "cuda:{}: out of memory: requested {} bytes; {} free of {}; {} allocated by "
                "marrow, {} cached (released before retrying)",
                device, nbytes, free_bytes, total, cache.allocated_bytes, cache.cached_bytes);
        }
    }
    cache.allocated_bytes += bytes;
    return p;
}

void device_deallocate(void* p, size_t nbytes, int device) {
    size_t bytes = size_class(nbytes == 0 ? 1 : nbytes);
    Allocator& a = allocator();
    std::lock_guard lock(a.mutex);
    DeviceCache& cache = a.devices[device];
    cache.free_blocks[bytes].push_back(p);
    cache.cached_bytes += bytes;
    cache.allocated_bytes -= bytes;
}

void synchronize(int device) {
    MARROW_CUDA_CHECK(cudaSetDevice(device));
    MARROW_CUDA_CHECK(cudaDeviceSynchronize());  // every stream of the device
}

void transfer(const Tensor& src, const Tensor& dst) {
    size_t bytes = size_t(src.numel()) * src.element_size();
    if (bytes == 0) return;
    cudaMemcpyKind kind =
        src.device().type == DeviceType::cpu ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
    // On the current stream, then wait: the host side may use the data on return.
    auto stream = static_cast<cudaStream_t>(current_stream_handle());
    MARROW_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), bytes, kind, stream));
    MARROW_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace marrow::cuda
