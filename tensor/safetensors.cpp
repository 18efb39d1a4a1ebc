#include "tensor/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "tensor/factory.h"
#include "tensor/file_io.h"
#include "tensor/ops/copy.h"

namespace marrow {
namespace {

constexpr uint64_t kMaxHeader = 100u << 20;  // the reference implementation's limit

DType dtype_from_tag(const std::string& tag, const std::string& where) {
#define MARROW_TAG_MATCH(name, type, str, t) \
    if (tag == t) return DType::name;
    MARROW_FORALL_DTYPES(MARROW_TAG_MATCH)
#undef MARROW_TAG_MATCH
    fail("{}: unsupported dtype \"{}\"", where, tag);
}

// Note [safetensors header structure]: the header is a flat object of objects, {name: {dtype,
// shape: [..], data_offsets: [b, e]}, "__metadata__": {str: str}}, so nothing in it nests
// deeper than 3 levels (top object, entry, list). A SAX pass checks that bound, and that no
// name appears twice, before the DOM is built: nlohmann's recursive functions (dump, compare)
// would overflow the stack on 200,000 nested lists in a 400 KB header.
class HeaderShapeCheck : public nlohmann::json_sax<nlohmann::json> {
public:
    static constexpr int kMaxDepth = 3;
    std::string problem;  // empty while the header is fine

    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return open(); }
    bool start_array(std::size_t) override { return open(); }
    bool end_object() override { return close(); }
    bool end_array() override { return close(); }
    bool key(string_t& k) override {
        if (depth_ == 1 && !names_.insert(k).second) {
            problem = fmt::format("tensor \"{}\" appears twice in the header", k);
            return false;
        }
        return true;
    }
    bool parse_error(std::size_t, const std::string&,
                     const nlohmann::detail::exception& e) override {
        problem = fmt::format("header is not valid JSON: {}", e.what());
        return false;
    }

private:
    int depth_ = 0;
    std::set<std::string> names_;

    bool open() {
        if (++depth_ <= kMaxDepth) return true;
        problem = fmt::format(
            "header nests deeper than {} levels; a safetensors header is an object of objects",
            kMaxDepth);
        return false;
    }
    bool close() {
        --depth_;
        return true;
    }
};

struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t begin, end;
};

}  // namespace

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& name) {
    MARROW_CHECK(bytes.size() >= 8,
                 "{}: not a safetensors file: {} bytes, shorter than the "
                 "8-byte header length",
                 name, bytes.size());
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
    MARROW_CHECK(n <= kMaxHeader, "{}: header length {} exceeds the {} byte limit", name, n,
                 kMaxHeader);
    MARROW_CHECK(n <= bytes.size() - 8, "{}: truncated: header length {} but only {} bytes follow",
                 name, n, bytes.size() - 8);
    auto header_begin = bytes.begin() + 8, header_end = bytes.begin() + 8 + int64_t(n);
    HeaderShapeCheck check;
    if (!nlohmann::json::sax_parse(header_begin, header_end, &check))
        fail("{}: {}", name, check.problem);
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(header_begin, header_end);
    } catch (const nlohmann::json::exception& e) {
        fail("{}: header is not valid JSON: {}", name, e.what());
    }
    MARROW_CHECK(header.is_object(), "{}: header must be a JSON object", name);
    uint64_t data_size = bytes.size() - 8 - n;
    const char* data = bytes.data() + 8 + n;

    SafetensorsFile file;
    std::vector<Entry> entries;
    for (auto& [key, value] : header.items()) {
        if (key == "__metadata__") {
            MARROW_CHECK(value.is_object(), "{}: __metadata__ must be an object", name);
            for (auto& [mk, mv] : value.items()) {
                MARROW_CHECK(mv.is_string(), "{}: metadata \"{}\" is not a string", name, mk);
                file.metadata[mk] = mv.get<std::string>();
            }
            continue;
        }
        std::string where = fmt::format("{}: tensor \"{}\"", name, key);
        MARROW_CHECK(value.is_object() && value.contains("dtype") && value.contains("shape") &&
                         value.contains("data_offsets"),
                     "{}: entry needs dtype, shape and data_offsets", where);
        MARROW_CHECK(value["dtype"].is_string(), "{}: dtype is not a string", where);
        Entry e{key, dtype_from_tag(value["dtype"].get<std::string>(), where), {}, 0, 0};
        MARROW_CHECK(value["shape"].is_array(), "{}: shape is not a list", where);
        for (auto& s : value["shape"]) {
            MARROW_CHECK(s.is_number_unsigned() &&
                             s.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max()),
                         "{}: invalid size in shape {}", where, value["shape"].dump());
            e.shape.push_back(s.get<int64_t>());
        }
        // Note [Checked shape products]; the span check below then bounds the allocation by
        // the file's size.
        uint64_t nbytes = uint64_t(checked_numel(e.shape, where, int64_t(dtype_size(e.dtype))) *
                                   int64_t(dtype_size(e.dtype)));
        auto& off = value["data_offsets"];
        MARROW_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() &&
                         off[1].is_number_unsigned(),
                     "{}: data_offsets must be two non-negative integers", where);
        e.begin = off[0].get<uint64_t>();
        e.end = off[1].get<uint64_t>();
        MARROW_CHECK(e.begin <= e.end && e.end <= data_size,
                     "{}: data_offsets [{}, {}) out of range (data section is {} bytes)", where,
                     e.begin, e.end, data_size);
        MARROW_CHECK(e.end - e.begin == nbytes,
                     "{}: data_offsets span {} bytes but shape {} of {} needs {}", where,
                     e.end - e.begin, e.shape, e.dtype, nbytes);
        entries.push_back(std::move(e));
    }
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
    for (size_t i = 1; i < entries.size(); ++i)
        MARROW_CHECK(entries[i].begin >= entries[i - 1].end,
                     "{}: tensors \"{}\" and \"{}\" overlap in the data section", name,
                     entries[i - 1].name, entries[i].name);
    for (const Entry& e : entries) {
        Tensor t = empty(e.shape, e.dtype);
        if (e.end > e.begin) std::memcpy(t.raw_data(), data + e.begin, e.end - e.begin);
        file.tensors.emplace(e.name, t);
    }
    return file;
}

SafetensorsFile load_safetensors(const std::string& path) {
    return parse_safetensors(read_file(path, "load_safetensors"), path);
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::vector<Tensor> payload;
    uint64_t offset = 0;
    for (const auto& [key, t] : tensors) {
        Tensor host = op::contiguous(op::to_device(t, Device::cpu()));
        uint64_t nbytes = uint64_t(host.numel()) * host.element_size();
        header[key] = {{"dtype", std::string(dtype_safetensors_tag(t.dtype()))},
                       {"shape", t.shape()},
                       {"data_offsets", {offset, offset + nbytes}}};
        offset += nbytes;
        payload.push_back(host);
    }
    std::string json = header.dump();
    json.append((8 - json.size() % 8) % 8, ' ');  // align the data section to 8 bytes
    write_file_atomic(path, "save_safetensors", [&](std::ostream& out) {
        uint64_t n = json.size();
        char len[8];
        for (int i = 0; i < 8; ++i) len[i] = char((n >> (8 * i)) & 0xff);
        out.write(len, 8);
        out.write(json.data(), int64_t(json.size()));
        for (const Tensor& t : payload)
            out.write(static_cast<const char*>(t.raw_data()),
                      int64_t(uint64_t(t.numel()) * t.element_size()));
    });
}

}  // namespace marrow
