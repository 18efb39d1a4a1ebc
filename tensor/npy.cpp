#include "tensor/npy.h"

#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>

#include "tensor/factory.h"
#include "tensor/file_io.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"
#include "tensor/shape.h"

namespace marrow {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr uint64_t kMaxHeader = 1u << 20;
constexpr size_t kMaxDims =
    64;  // NumPy 2's NPY_MAXDIMS (32 before)  // np.load refuses headers past 10,000 bytes

// The header's Python literal, {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), },
// read by a small scanner: string literals, True / False, and tuples of integers (with
// Python 2's L suffix). Anything else (a list descr of a structured dtype, an object) is an
// error naming what was found.
class HeaderScanner {
public:
    HeaderScanner(std::string_view text, const std::string& name) : s_(text), name_(name) {}

    struct Fields {
        std::optional<std::string> descr;
        std::optional<bool> fortran_order;
        std::optional<Shape> shape;
    };

    Fields parse() {
        Fields f;
        expect('{');
        while (!peek('}')) {
            const std::string key = string_literal();
            expect(':');
            if (key == "descr") {
                MARROW_CHECK(peek('\'') || peek('"'),
                             "{}: descr is not a string (structured dtypes are not supported)",
                             name_);
                f.descr = string_literal();
            } else if (key == "fortran_order") {
                f.fortran_order = boolean();
            } else if (key == "shape") {
                f.shape = tuple();
            } else {
                fail("{}: unknown header key '{}' (expected descr, fortran_order, shape)", name_,
                     key);
            }
            if (!peek('}')) expect(',');
        }
        expect('}');
        skip_space();
        MARROW_CHECK(i_ == s_.size(), "{}: text after the header's dict", name_);
        MARROW_CHECK(f.descr && f.fortran_order && f.shape, "{}: the header lacks {}", name_,
                     !f.descr           ? "descr"
                     : !f.fortran_order ? "fortran_order"
                                        : "shape");
        return f;
    }

private:
    void skip_space() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n')) ++i_;
    }
    bool peek(char c) {
        skip_space();
        return i_ < s_.size() && s_[i_] == c;
    }
    void expect(char c) {
        MARROW_CHECK(peek(c), "{}: malformed header: expected '{}' at byte {} of \"{}\"", name_, c,
                     i_, s_);
        ++i_;
    }
    std::string string_literal() {
        skip_space();
        MARROW_CHECK(i_ < s_.size() && (s_[i_] == '\'' || s_[i_] == '"'),
                     "{}: malformed header: expected a quoted key or value at byte {}", name_, i_);
        const char quote = s_[i_++];
        const size_t end = s_.find(quote, i_);
        MARROW_CHECK(end != std::string_view::npos, "{}: malformed header: unterminated string",
                     name_);
        std::string out(s_.substr(i_, end - i_));
        i_ = end + 1;
        return out;
    }
    bool boolean() {
        skip_space();
        for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}})
            if (s_.substr(i_, std::strlen(word)) == word) {
                i_ += std::strlen(word);
                return value;
            }
        fail("{}: fortran_order is not True or False", name_);
    }
    Shape tuple() {
        expect('(');
        Shape shape;
        while (!peek(')')) {
            skip_space();
            int64_t v = 0;
            size_t digits = 0;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
                MARROW_CHECK(v <= (std::numeric_limits<int64_t>::max() - 9) / 10,
                             "{}: a size in the shape overflows int64", name_);
                v = v * 10 + (s_[i_++] - '0');
                ++digits;
            }
            MARROW_CHECK(digits > 0, "{}: malformed shape: expected a size at byte {}", name_, i_);
            if (i_ < s_.size() && s_[i_] == 'L') ++i_;
            shape.push_back(v);
            if (!peek(')')) expect(',');
        }
        expect(')');
        return shape;
    }

    std::string_view s_;
    const std::string& name_;
    size_t i_ = 0;
};

// How the file's elements are read: their width, whether to swap bytes, their kind, and the
// marrow dtype they become.
struct ElementFormat {
    size_t width = 0;
    bool swap = false;
    char kind = 'f';  // f (float), i (signed), u (unsigned), b (bool)
    DType dtype = DType::f32;
};

ElementFormat element_format(const std::string& descr, const std::string& name) {
    MARROW_CHECK(descr.size() >= 3, "{}: unsupported dtype '{}'", name, descr);
    const char order = descr[0], kind = descr[1];
    const std::string width_text = descr.substr(2);
    ElementFormat f;
    f.kind = kind;
    MARROW_CHECK(order == '<' || order == '>' || order == '|' || order == '=',
                 "{}: dtype '{}' has no byte order", name, descr);
    f.swap = order == '>';  // '=' is the writer's native order: numpy writes '<' on x86
    if (width_text == "1")
        f.width = 1;
    else if (width_text == "2")
        f.width = 2;
    else if (width_text == "4")
        f.width = 4;
    else if (width_text == "8")
        f.width = 8;
    const bool ok = (kind == 'f' && f.width >= 2) || kind == 'i' || kind == 'u' ||
                    (kind == 'b' && f.width == 1);
    MARROW_CHECK(f.width > 0 && ok,
                 "{}: unsupported dtype '{}' (float16/32/64, int8-64, uint8-64 or bool)", name,
                 descr);
    if (kind == 'f')
        f.dtype = f.width == 2 ? DType::f16 : f.width == 4 ? DType::f32 : DType::f64;
    else if (kind == 'b')
        f.dtype = DType::b8;
    else if (kind == 'u' && f.width == 1)
        f.dtype = DType::u8;
    else if (f.width == 8 || (kind == 'u' && f.width == 4))
        f.dtype = DType::i64;
    else
        f.dtype = DType::i32;
    return f;
}

uint64_t load_unsigned(const unsigned char* p, size_t width, bool swap) {
    uint64_t v = 0;
    for (size_t b = 0; b < width; ++b) {
        const size_t byte = swap ? width - 1 - b : b;  // little-endian after the swap
        v |= uint64_t(p[byte]) << (8 * b);
    }
    return v;
}

// The elements converted into `out` (contiguous, of f.dtype).
void convert(const unsigned char* data, int64_t count, const ElementFormat& f, Tensor& out,
             const std::string& name) {
    // Stored as marrow stores it (a float, a signed integer of the same width, or uint8, in
    // the host's order): one copy. SCEMILA's float32 features take this path.
    const bool verbatim = !f.swap && dtype_size(f.dtype) == f.width &&
                          (f.kind == 'f' || f.kind == 'i' || f.dtype == DType::u8);
    if (verbatim) {
        if (count > 0) std::memcpy(out.raw_data(), data, size_t(count) * f.width);
        return;
    }
    for (int64_t k = 0; k < count; ++k) {
        const uint64_t bits = load_unsigned(data + size_t(k) * f.width, f.width, f.swap);
        switch (f.dtype) {
            case DType::f16:
                out.data<Half>()[k] = std::bit_cast<Half>(uint16_t(bits));
                break;
            case DType::f32:
                out.data<float>()[k] = std::bit_cast<float>(uint32_t(bits));
                break;
            case DType::f64:
                out.data<double>()[k] = std::bit_cast<double>(bits);
                break;
            case DType::b8:
                MARROW_CHECK(bits <= 1, "{}: bool element {} is {} (not 0 or 1)", name, k, bits);
                out.data<bool>()[k] = bits == 1;
                break;
            case DType::u8:
                out.data<uint8_t>()[k] = uint8_t(bits);
                break;
            case DType::i32: {
                int64_t v = int64_t(bits);
                if (f.kind == 'i' && f.width < 8 && (bits >> (8 * f.width - 1)) & 1)
                    v -= int64_t(1) << (8 * f.width);  // sign-extend
                out.data<int32_t>()[k] = int32_t(v);
                break;
            }
            case DType::i64:
                MARROW_CHECK(f.kind == 'i' || bits <= uint64_t(std::numeric_limits<int64_t>::max()),
                             "{}: uint64 element {} is {}, past int64", name, k, bits);
                out.data<int64_t>()[k] = std::bit_cast<int64_t>(bits);
                break;
            default:
                fail("{}: internal: no conversion to {}", name, out.dtype());
        }
    }
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& name) {
    MARROW_CHECK(bytes.size() >= kMagicSize + 2 && bytes.compare(0, kMagicSize, kMagic) == 0,
                 "{}: not a .npy file (no \\x93NUMPY magic)", name);
    const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
    const int major = u[6], minor = u[7];
    MARROW_CHECK(major >= 1 && major <= 3 && minor == 0,
                 "{}: .npy format version {}.{} (this reader knows 1.0, 2.0 and 3.0)", name, major,
                 minor);
    const size_t length_bytes = major == 1 ? 2 : 4, header_start = 8 + length_bytes;
    MARROW_CHECK(bytes.size() >= header_start, "{}: truncated before the header length", name);
    const uint64_t header_length = load_unsigned(u + 8, length_bytes, false);
    MARROW_CHECK(header_length <= kMaxHeader && header_start + header_length <= bytes.size(),
                 "{}: header length {} runs past the file's {} bytes", name, header_length,
                 bytes.size());
    const std::string_view header(bytes.data() + header_start, size_t(header_length));
    const HeaderScanner::Fields fields = HeaderScanner(header, name).parse();

    const ElementFormat format = element_format(*fields.descr, name);
    const Shape& shape = *fields.shape;
    MARROW_CHECK(shape.size() <= kMaxDims, "{}: {} dimensions (NumPy writes at most {})", name,
                 shape.size(), kMaxDims);
    // Note [Checked shape products]: the byte count is checked before any allocation, and the
    // comparison with the file's size bounds it.
    const int64_t count = checked_numel(shape, name, int64_t(format.width));
    const uint64_t data_start = header_start + header_length;
    const uint64_t have = bytes.size() - data_start, need = uint64_t(count) * format.width;
    MARROW_CHECK(have == need, "{}: shape {} of '{}' needs {} data bytes, the file has {}", name,
                 shape, *fields.descr, need, have);

    // Fortran order: the data is the C-order array of the reversed shape, transposed.
    Shape stored = shape;
    if (*fields.fortran_order) std::reverse(stored.begin(), stored.end());
    Tensor out = empty(stored, format.dtype);
    convert(u + data_start, count, format, out, name);
    if (!*fields.fortran_order || shape.size() < 2) return out;
    std::vector<int64_t> reverse(shape.size());
    for (size_t d = 0; d < reverse.size(); ++d) reverse[d] = int64_t(reverse.size() - 1 - d);
    return op::contiguous(op::permute(out, reverse));
}

Tensor load_npy(const std::string& path) { return parse_npy(read_file(path, "load_npy"), path); }

void save_npy(const std::string& path, const Tensor& tensor) {
    static const std::map<DType, const char*> kDescr = {
        {DType::f32, "<f4"}, {DType::f64, "<f8"}, {DType::f16, "<f2"}, {DType::i32, "<i4"},
        {DType::i64, "<i8"}, {DType::u8, "|u1"},  {DType::b8, "|b1"}};
    const auto found = kDescr.find(tensor.dtype());
    MARROW_CHECK(found != kDescr.end(), "save_npy: \"{}\": NumPy has no {}", path, tensor.dtype());
    const char* descr = found->second;
    static_assert(std::endian::native == std::endian::little, "save_npy writes the host's bytes");
    std::string shape;  // () for a scalar, (5,) for one dimension, (2, 3) for more
    for (int64_t d = 0; d < tensor.dim(); ++d)
        shape += (d == 0 ? "" : ", ") + std::to_string(tensor.shape()[size_t(d)]);
    if (tensor.dim() == 1) shape += ",";
    std::string header =
        fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, shape);
    // Spaces and '\n' pad the preamble to a multiple of 64 bytes; version 2.0 (a 4-byte
    // length) only when the padded header does not fit version 1.0's 2 bytes.
    auto padded = [&](size_t prefix) {
        return header.size() + 1 + (64 - (prefix + header.size() + 1) % 64) % 64;
    };
    const bool v1 = padded(10) <= 65535;
    header.resize(padded(v1 ? 10 : 12) - 1, ' ');
    header += '\n';
    std::string preamble(kMagic, kMagicSize);
    preamble += char(v1 ? 1 : 2);
    preamble += char(0);
    for (size_t b = 0; b < (v1 ? 2u : 4u); ++b) preamble += char((header.size() >> (8 * b)) & 0xff);
    preamble += header;
    const Tensor host = op::contiguous(op::to_device(tensor, Device::cpu()));
    write_file_atomic(path, "save_npy", [&](std::ostream& out) {
        out.write(preamble.data(), std::streamsize(preamble.size()));
        out.write(static_cast<const char*>(host.raw_data()),
                  std::streamsize(size_t(host.numel()) * host.element_size()));
    });
}

}  // namespace marrow
