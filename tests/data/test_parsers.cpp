// IDX, MNIST and CSV readers on untrusted bytes: the inputs fuzzing found
// (tests/fuzz/regressions/{idx,csv}/) and the byte and cell budgets, each an exact error naming
// the file (Note [Checked shape products]).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "data/csv.h"
#include "data/idx.h"
#include "data/mnist.h"
#include "tensor/error.h"

using namespace marrow;
using namespace marrow::data;
namespace fs = std::filesystem;

namespace {

const std::string kRegressions = std::string(MARROW_SOURCE_DIR) + "/tests/fuzz/regressions/";

// An IDX image of unsigned bytes: magic 0 0 8 ndim, big-endian sizes, then `payload`.
std::string idx_bytes(const std::vector<uint32_t>& shape, const std::string& payload) {
    std::string out{'\0', '\0', '\x08', char(shape.size())};
    for (uint32_t s : shape)
        for (int b = 3; b >= 0; --b) out += char((s >> (8 * b)) & 0xff);
    return out + payload;
}

struct TempDir {
    fs::path root = fs::temp_directory_path() / ("marrow_parsers_" + std::to_string(getpid()));
    TempDir() { fs::create_directories(root); }
    ~TempDir() { fs::remove_all(root); }
    std::string write(const std::string& name, const std::string& bytes) const {
        std::ofstream(root / name, std::ios::binary) << bytes;
        return (root / name).string();
    }
};

}  // namespace

TEST_CASE("idx: values and shape, truncation, and a 65536^4 header that wrapped to 0 bytes") {
    Tensor t = parse_idx(idx_bytes({2, 3}, "\x01\x02\x03\x04\x05\xff"), "t.idx");
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.dtype() == DType::u8);
    CHECK(t.data<uint8_t>()[5] == 255);
    CHECK(parse_idx(idx_bytes({0, 28, 28}, ""), "t.idx").shape() == Shape{0, 28, 28});
    CHECK_THROWS_WITH_AS(parse_idx(idx_bytes({2, 3, 3}, std::string(10, '\0')), "t.idx"),
                         "t.idx: IDX header says shape [2, 3, 3] (18 bytes of data) but the "
                         "file has 10",
                         Error);
    CHECK_THROWS_WITH_AS(parse_idx(idx_bytes({1, 2, 3}, "").substr(0, 10), "t.idx"),
                         "t.idx: truncated IDX header", Error);
    CHECK_THROWS_WITH_AS(parse_idx(std::string("\0\0\x0d\x01", 4), "t.idx"),
                         "t.idx: IDX element type 0x0d is not supported (only unsigned bytes, "
                         "0x08)",
                         Error);
    const std::string wraps = kRegressions + "idx/shape_product_wraps";
    REQUIRE(fs::file_size(wraps) == 20);
    CHECK_THROWS_WITH_AS(load_idx(wraps),
                         (wraps + ": shape [65536, 65536, 65536, 65536] is too large (its "
                                  "element count or strides overflow int64)")
                             .c_str(),
                         Error);
    // Sizes of 0 alongside huge ones: 0 elements, but the strides would overflow.
    CHECK_THROWS_WITH_AS(parse_idx(idx_bytes({0, 0xffffffffu, 0xffffffffu, 2}, ""), "z.idx"),
                         "z.idx: shape [0, 4294967295, 4294967295, 2] is too large (its element "
                         "count or strides overflow int64)",
                         Error);
}

TEST_CASE("idx: a file or its gzip output larger than the byte budget is refused") {
    TempDir dir;
    std::string bytes = idx_bytes({40}, std::string(40, '\x07'));
    std::string plain = dir.write("t-labels-idx1-ubyte", bytes);
    CHECK(load_idx(plain).numel() == 40);
    CHECK_THROWS_WITH_AS(load_idx(plain, 16),
                         (plain + ": 48 bytes, more than the 16 byte budget").c_str(), Error);
    REQUIRE(std::system(("gzip -kf " + plain).c_str()) == 0);
    CHECK(load_idx(plain + ".gz").numel() == 40);
    CHECK_THROWS_WITH_AS(load_idx(plain + ".gz", 16),
                         (plain + ".gz: decompresses to more than the 16 byte budget").c_str(),
                         Error);
}

TEST_CASE("mnist: images with a zero-sized dimension are refused, naming the file") {
    TempDir dir;
    std::string images = dir.write("train-images-idx3-ubyte", idx_bytes({2, 0, 28}, ""));
    dir.write("train-labels-idx1-ubyte", idx_bytes({2}, "\x01\x02"));
    CHECK_THROWS_WITH_AS(load_mnist_split(dir.root.string(), "train"),
                         (images + ": expected (N, rows, cols) images, none of them 0, got shape "
                                   "[2, 0, 28]")
                             .c_str(),
                         Error);
    dir.write("train-images-idx3-ubyte", idx_bytes({2, 1, 2}, "abcd"));
    MnistSplit ok = load_mnist_split(dir.root.string(), "train");
    CHECK(ok.images.shape() == Shape{2, 1, 2});
    CHECK(ok.labels.data<int64_t>()[1] == 2);
}

TEST_CASE("csv: duplicate columns and the cell budget are errors naming file and line") {
    CHECK_THROWS_WITH_AS(parse_csv("ID,LABEL,ID\n1,2,3\n", "d.csv"),
                         "d.csv:1: column 'ID' appears twice in the header", Error);
    CsvTable blanks = parse_csv("a,,b,\n1,2,3,4\n", "b.csv");  // Excel's blank names may repeat
    CHECK(blanks.header == std::vector<std::string>{"a", "", "b", ""});
    CHECK(blanks.column("b") == 2);
    std::string text = "a,b\n1,2\n\n\n3,4\n";  // 6 cells kept; blank lines cost nothing
    CHECK(parse_csv(text, "c.csv", 6).rows.size() == 2);
    CHECK_THROWS_WITH_AS(parse_csv(text, "c.csv", 5),
                         "c.csv:5: more than 5 fields in all; not a metadata table?", Error);
    // One endless record is stopped as it grows, before the end of its line.
    CHECK_THROWS_WITH_AS(parse_csv("a\n" + std::string(100, ','), "w.csv", 10),
                         "w.csv:2: more than 10 fields in all; not a metadata table?", Error);
}
