// libFuzzer target: safetensors bytes through marrow's real parser (parse_safetensors, the
// in-memory entry point load_safetensors uses). A marrow::Error is a normal outcome; a crash,
// a sanitizer report, another exception or an allocation past libFuzzer's budget is a finding.
// Seeds: tests/fuzz/corpus/safetensors/; regressions: tests/fuzz/regressions/safetensors/.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        marrow::SafetensorsFile f = marrow::parse_safetensors(
            std::string(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
        // Touch every tensor's bytes so a storage smaller than its shape shows under ASan.
        size_t sum = 0;
        for (const auto& [name, t] : f.tensors) {
            const auto* p = static_cast<const uint8_t*>(t.raw_data());
            size_t nbytes = size_t(t.numel()) * t.element_size();
            for (size_t i = 0; i < nbytes; ++i) sum += p[i];
        }
        volatile size_t sink = sum;
        (void)sink;
    } catch (const marrow::Error&) {
    }
    return 0;
}
