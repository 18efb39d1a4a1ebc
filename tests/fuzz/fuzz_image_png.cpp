// libFuzzer target: the PNG decoder (data/image.h decode_image) on arbitrary bytes, seeded from
// tests/fuzz/corpus/image_png/. An Error is the expected outcome for bad input; anything else
// (another exception, a crash, a sanitizer report, memory beyond the budget) is a finding. The
// pixel budget is 2^22 so that every accepted header fits libFuzzer's default 2 GB RSS limit.
#include <cstddef>
#include <cstdint>

#include "data/image.h"
#include "tensor/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        marrow::data::decode_image({data, size}, "fuzz.png", {.max_pixels = uint64_t(1) << 22});
    } catch (const marrow::Error&) {
    }
    return 0;
}
