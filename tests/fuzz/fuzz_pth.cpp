// libFuzzer target: torch.save files (zip or legacy) through marrow's real reader (parse_pth,
// the in-memory twin of read_pth: libzip, storages, the restricted unpickler) and the tree
// flattening. A marrow::Error is a normal outcome; a crash, a sanitizer report, another
// exception or an allocation past libFuzzer's budget is a finding. The first input byte picks
// skip_unknown_globals (odd) so both modes are fuzzed; the rest is the file.
// Seeds: tests/fuzz/corpus/pth/ (small torch.save files); regressions: tests/fuzz/regressions/pth/.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/pth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    try {
        marrow::PthOptions o{.skip_unknown_globals = (data[0] & 1) != 0};
        marrow::PthFile f = marrow::parse_pth(
            std::string(reinterpret_cast<const char*>(data + 1), size - 1), "fuzz.pth", o);
        // Touch every tensor's elements so a view past its storage shows under ASan.
        size_t sum = 0;
        for (const auto& [key, t] : marrow::flatten_tensors(f)) {
            const auto* base = static_cast<const uint8_t*>(t.storage()->data());
            size_t esize = t.element_size();
            size_t last = size_t(t.offset());
            bool empty = false;
            for (int64_t d = 0; d < t.dim(); ++d) {
                if (t.size(d) == 0)
                    empty = true;
                else
                    last += size_t(t.size(d) - 1) * size_t(t.stride(d));
            }
            if (!empty) sum += base[size_t(t.offset()) * esize] + base[last * esize + esize - 1];
            sum += key.size();
        }
        volatile size_t sink = sum;
        (void)sink;
    } catch (const marrow::Error&) {
    }
    return 0;
}
