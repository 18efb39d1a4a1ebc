#include "ssl/method.h"

#include <array>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace marrow::ssl {
namespace {
constexpr std::array<std::pair<std::string_view, Method>, 4> kMethods{{
    {"simclr", Method::simclr}, {"swav", Method::swav}, {"dino", Method::dino},
    {"dinov2", Method::dinov2}}};
}  // namespace

Method parse_method(std::string_view name) {
    for (const auto& [text, method] : kMethods)
        if (text == name) return method;
    throw std::invalid_argument(
        fmt::format("unknown SSL method '{}' (expected simclr, swav, dino or dinov2)", name));
}

std::string method_name(Method method) {
    for (const auto& [text, m] : kMethods)
        if (m == method) return std::string(text);
    throw std::invalid_argument("method_name: not a Method value");
}

}  // namespace marrow::ssl
