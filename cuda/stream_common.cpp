// The per-thread current stream and StreamGuard, shared by the nvcc and simulator builds
// (cuda/stream.cu and cuda/sim/stream.cpp implement Stream and Event themselves), and the
// message of a device-side index error (Note [device-side index checks] in cuda/stream.h).
#include "cuda/stream.h"
#include "tensor/dispatch.h"
#include "tensor/error.h"

namespace marrow::cuda {
namespace {
thread_local std::unique_ptr<Stream> t_current;
}  // namespace

Stream current_stream(int device) {
    return t_current ? *t_current : Stream::default_stream(device);
}
void* current_stream_handle() { return t_current ? t_current->native() : nullptr; }

StreamGuard::StreamGuard(const Stream& stream) {
    if (t_current) previous_ = std::make_unique<Stream>(*t_current);
    t_current = std::make_unique<Stream>(stream);
}
StreamGuard::~StreamGuard() { t_current = std::move(previous_); }

void raise_device_index_error(const DeviceIndexError& e, int device) {
    std::string_view op = e.op >= 0 && e.op < int(OpId::count) ? op_name(OpId(e.op)) : "unknown";
    fail(
        "{}: index {} out of range [0, {}) at flat position {} of the index (found on cuda:{} "
        "by the kernel, reported at the next synchronisation; later results are unreliable)",
        op, e.value, e.bound, e.position, device);
}

}  // namespace marrow::cuda
