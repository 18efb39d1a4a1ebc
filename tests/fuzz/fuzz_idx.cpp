// libFuzzer target: IDX (MNIST) bytes through marrow's real parser (parse_idx, the in-memory
// entry point load_idx uses after reading or gunzipping the file). A marrow::Error is a normal
// outcome; a crash, a sanitizer report, another exception or an allocation past libFuzzer's
// budget is a finding. Seeds: tests/fuzz/corpus/idx/; regressions: tests/fuzz/regressions/idx/.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        marrow::Tensor t = marrow::data::parse_idx(
            std::string(reinterpret_cast<const char*>(data), size), "fuzz.idx");
        // Every byte of the tensor must be backed by storage and by the input.
        const uint8_t* p = t.data<uint8_t>();
        size_t sum = 0;
        for (int64_t i = 0; i < t.numel(); ++i) sum += p[i];
        volatile size_t sink = sum;
        (void)sink;
    } catch (const marrow::Error&) {
    }
    return 0;
}
