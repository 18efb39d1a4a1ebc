#include "tensor/storage.h"

#include <array>
#include <cstdlib>
#include <new>

#include "tensor/error.h"

namespace marrow {
namespace {

void* cpu_allocate(size_t nbytes, int) {
    constexpr size_t kAlign = 64;
    size_t rounded = (nbytes + kAlign - 1) / kAlign * kAlign;
    void* p = std::aligned_alloc(kAlign, rounded == 0 ? kAlign : rounded);
    if (!p) fail("cpu allocator: out of memory allocating {} bytes", nbytes);
    return p;
}
void cpu_deallocate(void* p, int) { std::free(p); }

std::array<DeviceAllocator, kNumDeviceTypes>& allocators() {
    static std::array<DeviceAllocator, kNumDeviceTypes> table = {
        DeviceAllocator{cpu_allocate, cpu_deallocate}, DeviceAllocator{}};
    return table;
}

}  // namespace

void set_device_allocator(DeviceType type, DeviceAllocator allocator) {
    allocators()[size_t(type)] = allocator;
}

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
    const DeviceAllocator& a = allocators()[size_t(device.type)];
    if (!a.allocate) fail("cannot allocate on {}: this build has no backend for it", device);
    void* p = a.allocate(nbytes, device.index);
    auto dealloc = a.deallocate;
    int index = device.index;
    return std::make_shared<Storage>(p, nbytes, device,
                                     [dealloc, index](void* q) { dealloc(q, index); });
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, Device device,
                                       Deleter deleter) {
    return std::make_shared<Storage>(data, nbytes, device, std::move(deleter));
}

Storage::Storage(void* data, size_t nbytes, Device device, Deleter deleter)
    : data_(data), nbytes_(nbytes), device_(device), deleter_(std::move(deleter)) {}

Storage::~Storage() {
    if (deleter_) deleter_(data_);
}

}  // namespace marrow
