// NumPy's .npy files (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html),
// as SCEMILA stores its per-patient cell features (fnl34_bn_features_layer_7.npy, N x 512 x 5
// x 5 float32) and as np.save writes any array:
//
//   "\x93NUMPY", major, minor, header length (2 bytes little-endian in version 1, 4 bytes in
//   2 and 3), a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, 512,
//   5, 5), } padded with spaces to a multiple of 64 and ended by '\n', then the raw data.
//
// Read: little-endian or byte-order-free (|) float16/32/64, int8/16/32/64, uint8/16/32/64 and
// bool (b1), C or Fortran order, any rank; big-endian data is byte-swapped. The tensor takes
// the nearest marrow dtype: f2/f4/f8 as f16/f32/f64, i1/i2/i4 as i32, i8 as i64, u1 as u8,
// u2/u4 as i32, u8 as i64 (values past int64 are an error), b1 as bool. Everything is
// validated before the data is touched: the magic, a version other than 1-3, a header that
// is not the dict above (unknown keys, object or structured dtypes, pickled data), a size
// overflowing int64, and data shorter or longer than the shape raise an Error naming the file.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace marrow {

Tensor load_npy(const std::string& path);
// Parses an in-memory file image; `name` is used in error messages.
Tensor parse_npy(const std::string& bytes, const std::string& name);
// np.save's format version 1.0 (3.0 when the header needs more than 65535 bytes); C order,
// little-endian; written to a temporary file and renamed. f32, f64, f16, i32, i64, u8, bool.
void save_npy(const std::string& path, const Tensor& tensor);

}  // namespace marrow
