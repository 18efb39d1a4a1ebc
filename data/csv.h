// A small CSV reader for dataset metadata (metadata.csv, trainset_true.csv, ...): a header row,
// comma-separated fields, double-quoted fields with "" escapes, CRLF or LF line ends, a UTF-8
// byte-order mark tolerated. Errors name the file and line.
#pragma once
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

CsvTable parse_csv(const std::string& text, const std::string& name);
CsvTable read_csv(const std::filesystem::path& path);

}  // namespace marrow::data
