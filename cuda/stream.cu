// Streams and events over the CUDA runtime (nvcc builds); see cuda/stream.h.
#include "cuda/check.h"
#include "cuda/stream.h"

namespace marrow::cuda {
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
