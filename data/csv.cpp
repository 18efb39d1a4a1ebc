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

CsvTable parse_csv(const std::string& text, const std::string& name, size_t max_cells) {
    CsvTable table;
    table.name = name;
    size_t i = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // UTF-8 byte-order mark
    int64_t line = 1;
    size_t cells = 0;  // fields kept in the header and rows so far
    std::vector<std::string> record;
    std::string field;
    bool quoted = false, any = false;
    auto end_field = [&] {
        if (cells + record.size() >= max_cells)
            fail("{}:{}: more than {} fields in all; not a metadata table?", name, line, max_cells);
        record.push_back(std::move(field));
        field.clear();
    };
    auto end_record = [&] {
        end_field();
        bool blank = record.size() == 1 && record[0].empty();
        if (!blank) {
            cells += record.size();
            if (table.header.empty()) {
                // Blank names (Excel's trailing commas) may repeat: no one looks them up.
                std::vector<std::string> sorted;
                for (const std::string& h : record)
                    if (!h.empty()) sorted.push_back(h);
                std::sort(sorted.begin(), sorted.end());
                auto twice = std::adjacent_find(sorted.begin(), sorted.end());
                if (twice != sorted.end())
                    fail("{}:{}: column '{}' appears twice in the header", name, line, *twice);
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
            end_field();
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

CsvTable read_csv(const std::filesystem::path& path, size_t max_cells) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open CSV file {}", path.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_csv(ss.str(), path.string(), max_cells);
}

}  // namespace marrow::data
