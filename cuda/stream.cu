// Streams and events over the CUDA runtime (nvcc builds); see cuda/stream.h.
#include "cuda/check.h"
#include "cuda/stream.h"

namespace marrow::cuda {
namespace {
thread_local std::unique_ptr<Stream> t_current;
}  // namespace

Stream Stream::create(int device) {
    MARROW_CUDA_CHECK(cudaSetDevice(device));
    cudaStream_t s = nullptr;
    MARROW_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return Stream(
        std::shared_ptr<void>(s, [](void* p) { cudaStreamDestroy(static_cast<cudaStream_t>(p)); }),
        device);
}

Stream Stream::default_stream(int device) { return Stream(nullptr, device); }

void Stream::synchronize() const {
    MARROW_CUDA_CHECK(cudaSetDevice(device_));
    MARROW_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(native())));
}

Stream current_stream(int device) {
    return t_current ? *t_current : Stream::default_stream(device);
}
void* current_stream_handle() { return t_current ? t_current->native() : nullptr; }

StreamGuard::StreamGuard(const Stream& stream) {
    if (t_current) previous_ = std::make_unique<Stream>(*t_current);
    t_current = std::make_unique<Stream>(stream);
}
StreamGuard::~StreamGuard() { t_current = std::move(previous_); }

Event::Event() {
    cudaEvent_t e = nullptr;
    MARROW_CUDA_CHECK(cudaEventCreate(&e));
    handle_ =
        std::shared_ptr<void>(e, [](void* p) { cudaEventDestroy(static_cast<cudaEvent_t>(p)); });
}

void Event::record(const Stream& stream) {
    MARROW_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(handle_.get()),
                                      static_cast<cudaStream_t>(stream.native())));
}

void Event::synchronize() const {
    MARROW_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(handle_.get())));
}

double Event::elapsed_ms(const Event& end) const {
    float ms = 0;
    MARROW_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(handle_.get()),
                                           static_cast<cudaEvent_t>(end.handle_.get())));
    return ms;
}

}  // namespace marrow::cuda
