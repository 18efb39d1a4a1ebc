// The CUDA runtime side of the nvcc build: device query, the caching allocator over
// cudaMalloc (tensor/caching_allocator.h: size classes, reuse, statistics, and an
// out-of-memory error stating requested, free and cached bytes), host<->device transfers, and
// the per-device index error record read at synchronisation points (Note [device-side index
// checks] in cuda/stream.h). (The simulator's counterpart is cuda/sim/device.cpp.)
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "cuda/check.h"
#include "cuda/cuda_kernels.h"
#include "cuda/stream.h"
#include "tensor/caching_allocator.h"

namespace marrow::cuda {
namespace {

std::atomic<uint64_t> g_device_to_host{0};

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

// One device's index error record: allocated on first use, never freed (kernels may still hold
// it at exit). `armed` says an index kernel was launched since the last device-wide check, so a
// synchronisation point with no index kernel behind it costs no extra copy.
struct ErrorSlot {
    std::once_flag allocated;
    DeviceIndexError* record = nullptr;
    std::atomic<bool> armed{false};
};
ErrorSlot& error_slot(int device) {
    static std::unique_ptr<ErrorSlot[]> slots(new ErrorSlot[size_t(std::max(devices().count, 1))]);
    MARROW_CHECK(device >= 0 && device < std::max(devices().count, 1),
                 "device_index_error: no device cuda:{}", device);
    return slots[size_t(device)];
}

// Copies the record (after the stream's earlier work), clears and raises it if it is set.
void check_index_error(ErrorSlot& slot, int device, cudaStream_t stream) {
    DeviceIndexError snapshot;
    MARROW_CUDA_CHECK(
        cudaMemcpyAsync(&snapshot, slot.record, sizeof(snapshot), cudaMemcpyDeviceToHost, stream));
    MARROW_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (snapshot.ready == 0) {
        // claimed but not ready: a kernel on another stream is writing it; a later check sees it.
        if (snapshot.claimed != 0) slot.armed.store(true);
        return;
    }
    MARROW_CUDA_CHECK(cudaMemsetAsync(slot.record, 0, sizeof(DeviceIndexError), stream));
    MARROW_CUDA_CHECK(cudaStreamSynchronize(stream));
    raise_device_index_error(snapshot, device);
}

}  // namespace

DeviceIndexError* device_index_error(int device) {
    ErrorSlot& slot = error_slot(device);
    std::call_once(slot.allocated, [&] {
        MARROW_CUDA_CHECK(cudaSetDevice(device));
        void* p = nullptr;
        MARROW_CUDA_CHECK(cudaMalloc(&p, sizeof(DeviceIndexError)));
        MARROW_CUDA_CHECK(cudaMemset(p, 0, sizeof(DeviceIndexError)));
        // Kernels on non-blocking streams do not wait for the legacy stream's memset.
        MARROW_CUDA_CHECK(cudaDeviceSynchronize());
        slot.record = static_cast<DeviceIndexError*>(p);
    });
    slot.armed.store(true);
    return slot.record;
}

DeviceRuntime device_runtime() {
    static CachingAllocator* allocator =  // never destroyed: tensors may outlive statics
        new CachingAllocator({raw_allocate, raw_free, describe_memory}, {.device_prefix = "cuda"});
    return {allocator, [] { return devices().count; }, name_of};
}

void synchronize(int device) {
    MARROW_CUDA_CHECK(cudaSetDevice(device));
    // Disarm before the wait: a launch racing with it re-arms the slot for the next check.
    ErrorSlot& slot = error_slot(device);
    bool armed = slot.armed.exchange(false);
    MARROW_CUDA_CHECK(cudaDeviceSynchronize());           // every stream of the device
    if (armed) check_index_error(slot, device, nullptr);  // all work is done: any stream will do
}

void transfer(const Tensor& src, const Tensor& dst) {
    size_t bytes = size_t(src.numel()) * src.element_size();
    bool to_host = dst.device().type == DeviceType::cpu;
    cudaMemcpyKind kind = to_host ? cudaMemcpyDeviceToHost : cudaMemcpyHostToDevice;
    // On the current stream, then wait: the host side may use the data on return.
    auto stream = static_cast<cudaStream_t>(current_stream_handle());
    if (bytes > 0) {
        MARROW_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), bytes, kind, stream));
        MARROW_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
    if (!to_host) return;
    g_device_to_host.fetch_add(1);
    // Only this stream has been waited for: the slot stays armed for kernels on other streams
    // until a device-wide synchronize() has looked.
    int device = src.device().index;
    ErrorSlot& slot = error_slot(device);
    if (slot.armed.load()) check_index_error(slot, device, stream);
}

uint64_t device_to_host_transfers() { return g_device_to_host.load(); }

}  // namespace marrow::cuda
