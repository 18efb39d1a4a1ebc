// libFuzzer target: CSV text through marrow's real parser (parse_csv, the in-memory entry point
// read_csv uses), then the lookups the dataset readers make. A marrow::Error is a normal
// outcome; a crash, a sanitizer report, another exception or an allocation past libFuzzer's
// budget is a finding. Seeds: tests/fuzz/corpus/csv/; regressions: tests/fuzz/regressions/csv/.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/csv.h"
#include "tensor/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        marrow::data::CsvTable t = marrow::data::parse_csv(
            std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
        // Every row is as long as the header, so indexing by a header column is in range.
        for (const std::string& col : t.header) {
            size_t c = t.column(col);
            for (const auto& row : t.rows) (void)row.at(c).size();
        }
        (void)t.column("patient_id");  // absent in most inputs: an Error naming the columns
    } catch (const marrow::Error&) {
    }
    return 0;
}
