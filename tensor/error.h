// Errors: every failure is a marrow::Error whose message names the op, the shapes, the path or
// the key involved (fmt-formatted), never a crash or silent garbage.
#pragma once
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>

namespace marrow {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace marrow

// MARROW_CHECK(cond, "fmt {}", args...): throws marrow::Error with the formatted message.
#define MARROW_CHECK(cond, ...)                   \
    do {                                          \
        if (!(cond)) ::marrow::fail(__VA_ARGS__); \
    } while (0)
