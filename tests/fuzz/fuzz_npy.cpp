// libFuzzer target: .npy bytes through marrow's real parser (parse_npy, the in-memory
// entry point load_npy uses). A marrow::Error is a normal outcome; a crash,
// a sanitizer report, another exception or an allocation past libFuzzer's budget is a finding.
// Seeds: tests/fuzz/corpus/npy/; regressions: tests/fuzz/regressions/npy/.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        marrow::Tensor t =
            marrow::parse_npy(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npy");
        // Touch every byte so a storage smaller than its shape shows under ASan.
        size_t sum = 0;
        const auto* p = static_cast<const uint8_t*>(t.raw_data());
        const size_t nbytes = size_t(t.numel()) * t.element_size();
        for (size_t i = 0; i < nbytes; ++i) sum += p[i];
        volatile size_t sink = sum;
        (void)sink;
    } catch (const marrow::Error&) {
    }
    return 0;
}
