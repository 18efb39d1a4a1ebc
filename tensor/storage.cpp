#include "tensor/storage.h"

#include <array>
#include <cstdlib>

#include "tensor/caching_allocator.h"
#include "tensor/dispatch.h"
#include "tensor/error.h"

namespace marrow {
namespace {

// The CPU's caching allocator: blocks of at least 64 KB are cached (smaller ones come from
// malloc's own free lists cheaply), up to 2 GB in all.
void* cpu_raw_allocate(size_t bytes, int) { return std::aligned_alloc(64, bytes); }
void cpu_raw_free(void* p, size_t, int) { std::free(p); }

DeviceRuntime cpu_runtime() {
    static CachingAllocator* cpu = new CachingAllocator(  // never destroyed: tensors may
        {cpu_raw_allocate, cpu_raw_free, nullptr},        // outlive statics
        {.device_prefix = "cpu",
         .granularity = 64,
         .cache_from = 64 << 10,
         .cache_limit = size_t(2) << 30});
    return {cpu, [] { return 1; }, [](int) { return std::string("cpu"); }};
}

std::array<DeviceRuntime, kNumDeviceTypes>& runtimes() {
    static std::array<DeviceRuntime, kNumDeviceTypes> table = {cpu_runtime(), DeviceRuntime{}};
    return table;
}

const DeviceRuntime& runtime(DeviceType type) {
    if (type != DeviceType::cpu) ensure_backends();  // backends set their runtimes
    return runtimes()[size_t(type)];
}

const DeviceRuntime& runtime_with_device(Device device) {
    const DeviceRuntime& r = runtime(device.type);
    if (!r.allocator) fail("cannot use {}: this build has no backend for it", device);
    int count = r.device_count();
    if (count == 0) fail("{}: no device available ({})", device, r.device_name(0));
    if (device.index < 0 || device.index >= count)
        fail("{} does not exist: {} device(s) ({})", device, count, r.device_name(0));
    return r;
}

}  // namespace

void set_device_runtime(DeviceType type, DeviceRuntime runtime) {
    runtimes()[size_t(type)] = runtime;
}

int device_count(DeviceType type) {
    const DeviceRuntime& r = runtime(type);
    return r.device_count ? r.device_count() : 0;
}

std::string device_name(Device device) {
    return runtime_with_device(device).device_name(device.index);
}

MemoryStats memory_stats(Device device) {
    return runtime_with_device(device).allocator->stats(device.index);
}

void reset_peak_memory(Device device) {
    runtime_with_device(device).allocator->reset_peak(device.index);
}

void empty_cache(Device device) {
    runtime_with_device(device).allocator->empty_cache(device.index);
}

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
    CachingAllocator* allocator = runtime_with_device(device).allocator;
    void* p = allocator->allocate(nbytes, device.index);
    int index = device.index;
    return std::make_shared<Storage>(p, nbytes, device, [allocator, nbytes, index](void* q) {
        allocator->deallocate(q, nbytes, index);
    });
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, Device device, Deleter deleter) {
    return std::make_shared<Storage>(data, nbytes, device, std::move(deleter));
}

Storage::Storage(void* data, size_t nbytes, Device device, Deleter deleter)
    : data_(data), nbytes_(nbytes), device_(device), deleter_(std::move(deleter)) {}

Storage::~Storage() {
    if (deleter_) deleter_(data_);
}

}  // namespace marrow
