// The .npy reader against files NumPy wrote (tests/golden/gen/gen_npy.py) and what NumPy read
// back from them; hand-made broken files for the errors; save_npy round trips and its
// header as NumPy's format description requires it.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "marrow.h"
#include "tensor/npy.h"
#include "tensor/ops/copy.h"

using namespace marrow;

namespace {

std::string fixture(const std::string& name) {
    return std::string(MARROW_SOURCE_DIR) + "/tests/golden/fixtures/npy/" + name;
}

const nlohmann::json& expected() {
    static const nlohmann::json j = [] {
        std::ifstream in(fixture("expected.json"));
        return nlohmann::json::parse(in);
    }();
    return j;
}

// The tensor's values in C order as doubles (every dtype the reader produces).
std::vector<double> values_of(const Tensor& t) {
    Tensor d = op::contiguous(op::to_dtype(t, DType::f64));
    return std::vector<double>(d.data<double>(), d.data<double>() + d.numel());
}

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// A v1.0 file with the given header dict and data bytes (padded as NumPy pads).
std::string npy_file(std::string header, const std::string& data) {
    header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    std::string out = "\x93NUMPY";
    out += char(1);
    out += char(0);
    out += char(header.size() & 0xff);
    out += char(header.size() >> 8);
    return out + header + data;
}

}  // namespace

TEST_CASE("npy: every dtype, order and version NumPy writes reads as NumPy reads it") {
    const std::map<std::string, DType> dtypes = {
        {"f32_features", DType::f32}, {"f64", DType::f64},     {"f16", DType::f16},
        {"i8", DType::i32},           {"i16", DType::i32},     {"i32", DType::i32},
        {"i64", DType::i64},          {"u8", DType::u8},       {"u16", DType::i32},
        {"u32", DType::i64},          {"u64", DType::i64},     {"bool", DType::b8},
        {"big_endian", DType::f32},   {"big_i32", DType::i32}, {"fortran", DType::f32},
        {"scalar", DType::f64},       {"vector", DType::i64},  {"empty", DType::f32},
        {"v2", DType::f32},           {"v3", DType::f32}};
    REQUIRE(expected().size() == dtypes.size());
    for (const auto& entry : dtypes) {  // (no structured binding: clang 14 cannot capture one)
        const std::string& name = entry.first;
        const DType dtype = entry.second;
        CAPTURE(name);
        const nlohmann::json& want = expected().at(name);
        Tensor t = load_npy(fixture(name + ".npy"));
        CHECK(t.dtype() == dtype);
        CHECK(t.shape() == want.at("shape").get<Shape>());
        CHECK(t.is_contiguous());
        // Exact: every value NumPy wrote is representable in the dtype read (float16 as is,
        // the widened integers below 2^53).
        CHECK(values_of(t) == want.at("values").get<std::vector<double>>());
    }
}

TEST_CASE("npy: object arrays, structured dtypes and broken files are refused by name") {
    CHECK_THROWS_WITH_AS(load_npy(fixture("object.npy")),
                         doctest::Contains("unsupported dtype '|O'"), Error);
    CHECK_THROWS_WITH_AS(load_npy(fixture("structured.npy")),
                         doctest::Contains("structured dtypes are not supported"), Error);
    CHECK_THROWS_WITH_AS(load_npy("/nonexistent/x.npy"),
                         doctest::Contains("cannot open \"/nonexistent/x.npy\""), Error);
    const std::string f32 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    const std::string eight(8, '\0');
    CHECK_NOTHROW(parse_npy(npy_file(f32, eight), "ok"));
    CHECK_THROWS_WITH_AS(parse_npy("PK\x03\x04", "a.npy"), doctest::Contains("not a .npy"), Error);
    CHECK_THROWS_WITH_AS(parse_npy(npy_file(f32, eight.substr(0, 7)), "short.npy"),
                         "short.npy: shape [2] of '<f4' needs 8 data bytes, the file has 7", Error);
    CHECK_THROWS_WITH_AS(parse_npy(npy_file(f32, eight + "x"), "long.npy"),
                         doctest::Contains("needs 8 data bytes, the file has 9"), Error);
    std::string v9 = npy_file(f32, eight);
    v9[6] = 9;
    CHECK_THROWS_WITH_AS(parse_npy(v9, "v9.npy"), doctest::Contains("version 9.0"), Error);
    std::string truncated = npy_file(f32, eight);
    CHECK_THROWS_WITH_AS(parse_npy(truncated.substr(0, 40), "cut.npy"),
                         doctest::Contains("runs past the file"), Error);
    const std::vector<std::pair<std::string, std::string>> bad_headers = {
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", "unsupported dtype"},
        {"{'descr': '<f4', 'fortran_order': False, }", "lacks shape"},
        {"{'descr': '<f4', 'fortran_order': maybe, 'shape': (2,), }", "not True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", "unknown header key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", "expected a size"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
         "overflows int64"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
         "overflow"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,) ", "malformed header"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "structured"}};
    for (const auto& bad : bad_headers) {
        const std::string& header = bad.first;
        const std::string& message = bad.second;
        CAPTURE(header);
        CHECK_THROWS_WITH_AS(parse_npy(npy_file(header, eight), "bad.npy"),
                             doctest::Contains(message.c_str()), Error);
    }
    const std::string b1 = "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }";
    CHECK_THROWS_WITH_AS(parse_npy(npy_file(b1, std::string("\x01\x02", 2)), "b.npy"),
                         doctest::Contains("bool element 1 is 2"), Error);
    const std::string u8 = "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }";
    CHECK_THROWS_WITH_AS(parse_npy(npy_file(u8, std::string(8, '\xff')), "u.npy"),
                         doctest::Contains("past int64"), Error);
}

TEST_CASE("npy: save_npy writes NumPy's format, and reads back bit for bit") {
    const std::string dir =
        std::filesystem::temp_directory_path() / ("marrow_npy_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    for (const Tensor& t :
         {randn({3, 4, 5}), randn({7}, DType::f64), op::to_dtype(randn({2, 2}), DType::f16),
          arange(6, DType::i64).reshape({2, 3}), full({4}, 1, DType::b8), scalar_tensor(1.5)}) {
        CAPTURE(t.shape());
        const std::string path = dir + "/t.npy";
        save_npy(path, t);
        const std::string bytes = read_bytes(path);
        const size_t header_end = bytes.find('\n') + 1;
        CHECK(header_end % 64 == 0);  // the preamble NumPy pads to 64 bytes
        Tensor back = load_npy(path);
        CHECK(back.dtype() == t.dtype());
        CHECK(back.shape() == t.shape());
        CHECK(values_of(back) == values_of(t));
    }
    // Byte for byte what np.save wrote, for the dtypes that read back unwidened.
    for (const char* name : {"f32_features", "f64", "f16", "i32", "i64", "u8", "bool", "scalar",
                             "vector", "empty"}) {
        CAPTURE(name);
        save_npy(dir + "/same.npy", load_npy(fixture(std::string(name) + ".npy")));
        CHECK(read_bytes(dir + "/same.npy") == read_bytes(fixture(std::string(name) + ".npy")));
    }
    std::filesystem::remove_all(dir);
}
