#include "data/csv.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "tensor/error.h"

namespace marrow::data {

size_t CsvTable::column(const std::string& col) const {
    auto it = std::find(header.begin(), header.end(), col);
    if (it == header.end())
        fail("{}: no column '{}' (columns: {})", name, col, fmt::join(header, ", "));
    return size_t(it - header.begin());
}

bool CsvTable::has_column(const std::string& col) const {
    return std::find(header.begin(), header.end(), col) != header.end();
}

CsvTable parse_csv(const std::string& text, const std::string& name) {
    CsvTable table;
    table.name = name;
    size_t i = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // UTF-8 byte-order mark
    int line = 1;
    std::vector<std::string> record;
    std::string field;
    bool quoted = false, any = false;
    auto end_record = [&] {
        record.push_back(std::move(field));
        field.clear();
        bool blank = record.size() == 1 && record[0].empty();
        if (!blank) {
            if (table.header.empty()) {
                table.header = std::move(record);
            } else {
                if (record.size() != table.header.size())
                    fail("{}:{}: {} fields, the header has {}", name, line, record.size(),
                         table.header.size());
                table.rows.push_back(std::move(record));
            }
        }
        record.clear();
        any = false;
    };
    for (; i < text.size(); ++i) {
        char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                if (c == '\n') ++line;
                field += c;
            }
        } else if (c == '"' && field.empty()) {
            quoted = any = true;
        } else if (c == ',') {
            record.push_back(std::move(field));
            field.clear();
            any = true;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            end_record();
            ++line;
        } else {
            field += c;
            any = true;
        }
    }
    if (quoted) fail("{}:{}: unterminated quoted field", name, line);
    if (any || !field.empty()) end_record();
    if (table.header.empty()) fail("{}: empty CSV file (no header row)", name);
    return table;
}

CsvTable read_csv(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open CSV file {}", path.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_csv(ss.str(), path.string());
}

}  // namespace marrow::data
