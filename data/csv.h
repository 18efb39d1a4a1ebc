// A small CSV reader for dataset metadata (metadata.csv, trainset_true.csv, ...): a header row,
// comma-separated fields, double-quoted fields with "" escapes, CRLF or LF line ends, a UTF-8
// byte-order mark tolerated. Errors name the file and line. Untrusted input: a header naming
// a column twice is an error (a lookup by name would be ambiguous), and a table holds at most
// kMaxCsvCells fields (an empty field costs a std::string, 32 bytes, per input byte; metadata
// tables have thousands of cells, not millions).
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace marrow::data {

struct CsvTable {
    std::string name;  // the path, for errors
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;  // each as long as the header

    // Index of a column; an Error naming the file and the columns it has when absent.
    size_t column(const std::string& col) const;
    bool has_column(const std::string& col) const;
};

inline constexpr size_t kMaxCsvCells = size_t(1) << 24;

CsvTable parse_csv(const std::string& text, const std::string& name,
                   size_t max_cells = kMaxCsvCells);
CsvTable read_csv(const std::filesystem::path& path, size_t max_cells = kMaxCsvCells);

}  // namespace marrow::data
