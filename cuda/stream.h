// CUDA streams and events. In nvcc builds these wrap cudaStream_t / cudaEvent_t and every
// MARROW_LAUNCH goes to the calling thread's current stream (StreamGuard changes it). In the
// simulator launches complete before they return, so a stream orders nothing and an event
// records host time (never reported as kernel performance).
//
// The caching allocator assumes a tensor is used on the stream it was allocated on; freeing
// memory still in use by another stream needs that stream synchronized first.
#pragma once
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

}  // namespace marrow::cuda
