// The per-thread current stream and StreamGuard, shared by the nvcc and simulator builds
// (cuda/stream.cu and cuda/sim/stream.cpp implement Stream and Event themselves).
#include "cuda/stream.h"

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

}  // namespace marrow::cuda
