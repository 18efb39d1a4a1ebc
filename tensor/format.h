// fmt formatter for Tensor: values like PyTorch (dims with more than 6 entries in tensors of
// more than 1000 elements show their first and last 3 with "..."), then dtype, shape, device.
#pragma once
#include <fmt/format.h>

#include "tensor/tensor.h"

namespace marrow {
std::string format_tensor(const Tensor& t);
}

template <>
struct fmt::formatter<marrow::Tensor> : fmt::formatter<std::string_view> {
    auto format(const marrow::Tensor& t, format_context& ctx) const {
        return fmt::format_to(ctx.out(), "{}", marrow::format_tensor(t));
    }
};
