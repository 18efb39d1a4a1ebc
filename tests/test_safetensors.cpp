// safetensors: round trip of every dtype, atomic writes, and a clear error (never a crash or
// an out-of-bounds read) for each way a file can be broken.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "marrow.h"
#include "tensor/ops/copy.h"

using namespace marrow;

namespace {

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / fmt::format("marrow_{}_{}", getpid(), name))
        .string();
}

// A file image with the given JSON header and `data_bytes` zero bytes of data.
std::string image(const std::string& json, size_t data_bytes) {
    std::string out(8, '\0');
    uint64_t n = json.size();
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
    return out + json + std::string(data_bytes, '\0');
}

}  // namespace

TEST_CASE("round trip of every dtype, with metadata") {
    std::map<std::string, Tensor> tensors;
    Tensor base = reshape(arange(6, DType::f64), {2, 3}) - 2.0;
    for (DType d : {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i32, DType::i64,
                    DType::u8, DType::b8}) {
        Tensor v = d == DType::u8 ? to(base + 2.0, d) : to(base, d);
        tensors.emplace(std::string(dtype_name(d)), v);
    }
    tensors.emplace("scalar", scalar_tensor(1.5));
    tensors.emplace("empty", zeros({0, 4}));
    tensors.emplace("strided", transpose(base, 0, 1));  // written contiguous
    std::string path = temp_path("roundtrip.safetensors");
    save_safetensors(path, tensors, {{"step", "12"}});
    SafetensorsFile f = load_safetensors(path);
    CHECK(f.metadata.at("step") == "12");
    REQUIRE(f.tensors.size() == tensors.size());
    for (const auto& item : tensors) {  // clang 14 cannot capture a structured binding
        const auto& name = item.first;
        const auto& t = item.second;
        CAPTURE(name);
        const Tensor& back = f.tensors.at(name);
        CHECK(back.dtype() == t.dtype());
        CHECK(back.shape() == t.shape());
        Tensor a = op::contiguous(to(t, DType::f64)), b = to(back, DType::f64);
        CHECK(std::equal(a.data<double>(), a.data<double>() + a.numel(), b.data<double>()));
    }
    // Overwrite goes through a temp file and rename: no leftovers.
    save_safetensors(path, {{"x", ones({2})}});
    CHECK(load_safetensors(path).tensors.size() == 1);
    for (auto& entry :
         std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
        CHECK(entry.path().string().find(path + ".tmp") == std::string::npos);
    std::remove(path.c_str());
}

TEST_CASE("broken files give clear errors") {
    const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    CHECK_NOTHROW(parse_safetensors(image("{" + ok_entry + "}", 8), "f"));
    CHECK_THROWS_WITH_AS(parse_safetensors("abc", "f.st"),
                         doctest::Contains("f.st: not a safetensors file: 3 bytes"), Error);
    std::string huge(8, '\0');
    huge[0] = char(0xff);
    huge[1] = char(0xff);
    CHECK_THROWS_WITH_AS(parse_safetensors(huge + "{}", "f"),
                         doctest::Contains("truncated: header length 65535"), Error);
    huge[7] = char(0x7f);
    CHECK_THROWS_WITH_AS(parse_safetensors(huge, "f"), doctest::Contains("exceeds the"), Error);
    CHECK_THROWS_WITH_AS(parse_safetensors(image("{\"a\":", 0), "f"),
                         doctest::Contains("not valid JSON"), Error);
    CHECK_THROWS_WITH_AS(
        parse_safetensors(image(R"({"a":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", 2),
                          "f"),
        doctest::Contains("tensor \"a\": unsupported dtype \"F8\""), Error);
    CHECK_THROWS_WITH_AS(parse_safetensors(image("{" + ok_entry + "}", 4), "f"),
                         doctest::Contains("out of range (data section is 4 bytes)"), Error);
    CHECK_THROWS_WITH_AS(
        parse_safetensors(image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
                          "f"),
        doctest::Contains("span 8 bytes but shape [3] of float32 needs 12"), Error);
    CHECK_THROWS_WITH_AS(
        parse_safetensors(
            image("{" + ok_entry + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
            "f"),
        doctest::Contains("overlap"), Error);
    CHECK_THROWS_WITH_AS(
        parse_safetensors(image(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0),
                          "f"),
        doctest::Contains("invalid size in shape"), Error);
    CHECK_THROWS_WITH_AS(parse_safetensors(image(R"({"a":{"dtype":"F32"}})", 0), "f"),
                         doctest::Contains("needs dtype, shape and data_offsets"), Error);
    CHECK_THROWS_WITH_AS(load_safetensors("/nonexistent/model.safetensors"),
                         doctest::Contains("cannot open \"/nonexistent/model.safetensors\""),
                         Error);
}

// The inputs fuzzing found (tests/fuzz/regressions/safetensors/), each an exact error naming
// the file: a shape whose product wraps to 0 bytes, and a header nested 200,000 lists deep that
// overflowed the stack in Release (Note [safetensors header structure]).
TEST_CASE("fuzz regressions: wrapped shape products and deep nesting are errors") {
    const std::string dir = std::string(MARROW_SOURCE_DIR) + "/tests/fuzz/regressions/safetensors/";
    CHECK_THROWS_WITH_AS(load_safetensors(dir + "shape_product_wraps"),
                         (dir + "shape_product_wraps: tensor \"a\": shape [4294967296, "
                                "4294967296] is too large (its element count or strides "
                                "overflow int64)")
                             .c_str(),
                         Error);
    CHECK_THROWS_WITH_AS(load_safetensors(dir + "deep_nesting"),
                         (dir + "deep_nesting: header nests deeper than 3 levels; a safetensors "
                                "header is an object of objects")
                             .c_str(),
                         Error);
    // Products that fit in int64 elements but not in bytes, and the largest sizes allowed.
    CHECK_THROWS_WITH_AS(
        parse_safetensors(
            image(R"({"a":{"dtype":"F64","shape":[2147483648,2147483648],"data_offsets":[0,0]}})",
                  0),
            "f"),
        "f: tensor \"a\": shape [2147483648, 2147483648] is too large (4611686018427387904 "
        "elements of 8 bytes overflow int64)",
        Error);
    CHECK_THROWS_WITH_AS(
        parse_safetensors(
            image(R"({"a":{"dtype":"U8","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})",
                  0),
            "f"),
        "f: tensor \"a\": shape [0, 4294967296, 4294967296] is too large (its element count or "
        "strides overflow int64)",
        Error);
    CHECK_THROWS_WITH_AS(
        parse_safetensors(
            image(R"({"a":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,0]}})", 0),
            "f"),
        "f: tensor \"a\": invalid size in shape [9223372036854775808]", Error);
    // Nesting: depth 3 (a list in an entry) is the most a header has; one more is refused.
    CHECK_THROWS_WITH_AS(
        parse_safetensors(image(R"({"a":{"dtype":"U8","shape":[[1]],"data_offsets":[0,1]}})", 1),
                          "f"),
        "f: header nests deeper than 3 levels; a safetensors header is an object of objects",
        Error);
    CHECK_THROWS_WITH_AS(
        parse_safetensors(image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
                                1),
                          "f"),
        "f: tensor \"a\" appears twice in the header", Error);
    SafetensorsFile ok = parse_safetensors(
        image(R"({"a":{"dtype":"U8","shape":[1,0,3],"data_offsets":[0,0]}})", 0), "f");
    CHECK(ok.tensors.at("a").shape() == Shape{1, 0, 3});
}
