// safetensors read/write (https://github.com/huggingface/safetensors format): 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, ...,
// "__metadata__": {str: str}}, then the raw little-endian data. Used for checkpoints and for
// the PyTorch golden fixtures.
//
// Loading validates everything before touching data: a truncated file, a header length past
// the end, bad JSON, an unknown dtype, offsets out of range, overlapping or not matching the
// shape all raise an Error naming the path and the tensor. Saving writes `<path>.tmp.<pid>`,
// fsyncs it, renames it over `path` and fsyncs the folder, so an existing file is never left
// half-written, even by a power cut.
#pragma once
#include <map>
#include <string>
#include <string_view>

#include "tensor/tensor.h"

namespace marrow {

struct SafetensorsFile {
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> metadata;
};

SafetensorsFile load_safetensors(const std::string& path);
// Parses an in-memory file image; `name` is used in error messages.
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& name);
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace marrow
