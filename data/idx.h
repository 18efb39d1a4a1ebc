// IDX files (the MNIST / Fashion-MNIST format, http://yann.lecun.com/exdb/mnist/): a magic
// number 0x0000 <type> <ndim>, ndim big-endian uint32 sizes, then the data. Only unsigned
// bytes (type 0x08) are used by those datasets and supported here. `.gz` files are
// decompressed by the system's gzip (Debian essential), so no extra library is needed.
//
// Errors name the path and what is wrong: missing file, gzip failure, bad magic, unsupported
// type, a shape whose element count overflows (Note [Checked shape products]), a size that does
// not match the header, or a file (after decompression) larger than the byte budget. The
// tensor is allocated only once the file is known to hold exactly the bytes the header promises.
#pragma once
#include <cstddef>
#include <string>

#include "tensor/tensor.h"

namespace marrow::data {

// Default byte budget of one IDX file after decompression: Fashion-MNIST's largest is 47 MB,
// while a few MB of hostile gzip could otherwise expand to many GB in memory.
inline constexpr size_t kMaxIdxBytes = size_t(1) << 30;

// The whole file as a uint8 tensor of the shape in its header.
Tensor load_idx(const std::string& path, size_t max_bytes = kMaxIdxBytes);
// Parses an in-memory (decompressed) IDX image; `name` is used in error messages.
Tensor parse_idx(const std::string& bytes, const std::string& name);
// Reads a file, gunzipping it when the name ends in ".gz"; an Error naming the file when it
// holds (or decompresses to) more than `max_bytes`.
std::string read_file_bytes(const std::string& path, size_t max_bytes = kMaxIdxBytes);

}  // namespace marrow::data
