// CUDA streams and events. In nvcc builds these wrap cudaStream_t / cudaEvent_t and every
// MARROW_LAUNCH goes to the calling thread's current stream (StreamGuard changes it). In the
// simulator launches complete before they return, so a stream orders nothing and an event
// records host time (never reported as kernel performance).
//
// The caching allocator assumes a tensor is used on the stream it was allocated on; freeing
// memory still in use by another stream needs that stream synchronized first.
#pragma once
#include <cstdint>
#include <memory>

namespace marrow::cuda {

class Stream {
public:
    static Stream create(int device = 0);           // a new stream on `device`
    static Stream default_stream(int device = 0);   // the legacy default stream
    void synchronize() const;                       // waits for its queued work
    void* native() const { return handle_.get(); }  // cudaStream_t (null: default stream)
    int device() const { return device_; }

private:
    Stream(std::shared_ptr<void> handle, int device)
        : handle_(std::move(handle)), device_(device) {}
    std::shared_ptr<void> handle_;
    int device_ = 0;
};

// The stream this thread launches on (the default stream unless a StreamGuard is active).
Stream current_stream(int device = 0);
void* current_stream_handle();

class StreamGuard {
public:
    explicit StreamGuard(const Stream& stream);
    ~StreamGuard();
    StreamGuard(const StreamGuard&) = delete;
    StreamGuard& operator=(const StreamGuard&) = delete;

private:
    std::unique_ptr<Stream> previous_;
};

class Event {
public:
    Event();
    void record(const Stream& stream);
    void synchronize() const;
    // Milliseconds from this event to `end` (both recorded and complete).
    double elapsed_ms(const Event& end) const;

private:
    std::shared_ptr<void> handle_;  // cudaEvent_t, or the simulator's recorded time point
};

// Note [device-side index checks]: index kernels (cuda/kernels/index.cu) range-check every index
// they read. A bad one is not read through; the first thread to find one claims this per-device
// record (atomicCAS on `claimed`), fills it, fences, then sets `ready`. The host never copies an
// index tensor to check it: it reads the record at the next synchronisation point
// (cuda::synchronize, a device-to-host transfer, hence item()), clears it and raises a
// marrow::Error naming the op, the value, the range and the position. Like PyTorch's
// device-side asserts, the error surfaces late: ops launched in between ran on the bad data.
struct DeviceIndexError {
    int32_t claimed = 0;  // 0: free; set by the reporting thread's atomicCAS
    int32_t ready = 0;    // 1 once the fields below are written (the host reads only then)
    int32_t op = 0;       // int(OpId) of the kernel that found it
    int32_t unused = 0;
    int64_t value = 0;     // the bad index
    int64_t bound = 0;     // the valid range is [0, bound)
    int64_t position = 0;  // row-major position in the index tensor
};
// The record of `device` in device memory (host memory in the simulator), for a kernel argument.
// Asking for it marks the record as worth reading at the next synchronisation point.
DeviceIndexError* device_index_error(int device);
// Raises the error held in `snapshot` (a host copy of a ready record). Shared by both builds.
[[noreturn]] void raise_device_index_error(const DeviceIndexError& snapshot, int device);

// Tensor copies from a CUDA device to the host since start-up (cuda::transfer; the error
// record's reads are not counted): tests use it to show an op does not sync with the host.
uint64_t device_to_host_transfers();

}  // namespace marrow::cuda
