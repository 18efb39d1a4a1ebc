// Streams and events in the simulator: launches are synchronous, so streams only carry a
// device number and events remember when they were recorded (host clock).
#include <chrono>

#include "cuda/stream.h"

namespace marrow::cuda {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

Stream Stream::create(int device) { return Stream(std::make_shared<int>(0), device); }
Stream Stream::default_stream(int device) { return Stream(nullptr, device); }
void Stream::synchronize() const {}

Event::Event() : handle_(std::make_shared<Clock::time_point>()) {}
void Event::record(const Stream&) {
    *static_cast<Clock::time_point*>(handle_.get()) = Clock::now();
}
void Event::synchronize() const {}
double Event::elapsed_ms(const Event& end) const {
    auto from = *static_cast<Clock::time_point*>(handle_.get());
    auto to = *static_cast<Clock::time_point*>(end.handle_.get());
    return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace marrow::cuda
