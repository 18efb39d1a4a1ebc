// Fuzz target: the path-list reader (data/datasets.h, parse_path_list): image paths with an
// optional integer or class-name label per line, '#' comments. Everything it returns must be
// consistent: each sample's label indexes the classes (or is -1).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "data/datasets.h"
#include "tensor/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        marrow::data::CellDataset ds = marrow::data::parse_path_list(text, "/fuzz/list.txt");
        for (const marrow::data::CellSample& s : ds.samples)
            if (s.label < -1 || s.label >= int(ds.classes.size())) std::abort();
    } catch (const marrow::Error&) {
    }
    return 0;
}
