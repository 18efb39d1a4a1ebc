// Streams and events: work launched under a StreamGuard runs on that stream, events bracket
// it, and results are right after synchronizing. (In the simulator everything is
// synchronous; on a GPU this runs natively under tools/gpu_check.sh.)
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "cuda/stream.h"

using namespace marrow;

TEST_CASE("streams, guards and events") {
    cuda::Stream s = cuda::Stream::create(0);
    CHECK(cuda::current_stream_handle() == nullptr);  // the default stream
    Tensor y = zeros({1});
    cuda::Event start, stop;
    {
        cuda::StreamGuard guard(s);
        CHECK(cuda::current_stream_handle() == s.native());
        start.record(s);
        Tensor x = full({1 << 16}, 0.5, DType::f32, Device::cuda());
        y = to(sum(x * x), Device::cpu());  // the copy back waits for the stream
        stop.record(s);
        s.synchronize();
    }
    CHECK(cuda::current_stream_handle() == nullptr);
    stop.synchronize();
    CHECK(y.item() == doctest::Approx(65536 * 0.25));
    CHECK(start.elapsed_ms(stop) >= 0);
}
