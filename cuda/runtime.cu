// The CUDA runtime side of the nvcc build: device query, the caching allocator over
// cudaMalloc (tensor/caching_allocator.h: size classes, reuse, statistics, and an
// out-of-memory error stating requested, free and cached bytes), and host<->device transfers.
// (The simulator's counterpart is cuda/sim/device.cpp.)
#include <string>

#include "cuda/check.h"
#include "cuda/cuda_kernels.h"
#include "cuda/stream.h"
#include "tensor/caching_allocator.h"

namespace marrow::cuda {
namespace {

// cudaGetDeviceCount's answer, once: 0 with the reason when there is no driver or no GPU, so a
// CUDA build starts and runs on the CPU anywhere.
struct DeviceList {
    int count = 0;
    std::string why_none;
};
const DeviceList& devices() {
    static const DeviceList list = [] {
        DeviceList l;
        cudaError_t err = cudaGetDeviceCount(&l.count);
        if (err != cudaSuccess) {
            (void)cudaGetLastError();
            l.count = 0;
            l.why_none = std::string("no CUDA device: ") + cudaGetErrorString(err);
        } else if (l.count == 0) {
            l.why_none = "no CUDA device: the driver reports 0 devices";
        }
        return l;
    }();
    return list;
}

std::string name_of(int device) {
    if (devices().count == 0) return devices().why_none;
    cudaDeviceProp prop{};
    MARROW_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    return prop.name;
}

void* raw_allocate(size_t bytes, int device) {
    MARROW_CUDA_CHECK(cudaSetDevice(device));
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) == cudaSuccess) return p;
    (void)cudaGetLastError();  // clear the sticky out-of-memory error
    return nullptr;
}

void raw_free(void* p, size_t, int device) {
    MARROW_CUDA_CHECK(cudaSetDevice(device));
    MARROW_CUDA_CHECK(cudaFree(p));
}

std::string describe_memory(int device) {
    size_t free_bytes = 0, total = 0;
    if (cudaSetDevice(device) != cudaSuccess || cudaMemGetInfo(&free_bytes, &total) != cudaSuccess)
        return "free device memory unknown";
    return std::to_string(free_bytes) + " bytes free of " + std::to_string(total) +
           " on the device";
}

}  // namespace

DeviceRuntime device_runtime() {
    static CachingAllocator* allocator =  // never destroyed: tensors may outlive statics
        new CachingAllocator({raw_allocate, raw_free, describe_memory}, {.device_prefix = "cuda"});
    return {allocator, [] { return devices().count; }, name_of};
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
