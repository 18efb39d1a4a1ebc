// IDX files (the MNIST / Fashion-MNIST format, http://yann.lecun.com/exdb/mnist/): a magic
// number 0x0000 <type> <ndim>, ndim big-endian uint32 sizes, then the data. Only unsigned
// bytes (type 0x08) are used by those datasets and supported here. `.gz` files are
// decompressed by the system's gzip (Debian essential), so no extra library is needed.
//
// Errors name the path and what is wrong: missing file, gzip failure, bad magic, unsupported
// type, or a size that does not match the header.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace marrow::data {

// The whole file as a uint8 tensor of the shape in its header.
Tensor load_idx(const std::string& path);
// Parses an in-memory (decompressed) IDX image; `name` is used in error messages.
Tensor parse_idx(const std::string& bytes, const std::string& name);
// Reads a file, gunzipping it when the name ends in ".gz".
std::string read_file_bytes(const std::string& path);

}  // namespace marrow::data
