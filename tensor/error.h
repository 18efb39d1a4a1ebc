// Errors: every failure is a marrow::Error whose message names the op, the shapes, the path or
// the key involved, never a crash or silent garbage. Messages are fmt-formatted; in files
// compiled by nvcc (whose front end cannot digest fmt 9's C++20 machinery) the same "{}"
// format strings go through a small ostream-based formatter instead (Note [nvcc and fmt]).
#pragma once
#include <stdexcept>
#include <string>

#if !defined(__CUDACC__)
#include <fmt/format.h>
#include <fmt/ranges.h>
#else
#include <cstdint>
#include <sstream>
#include <string_view>
#include <vector>
#endif

namespace marrow {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

#if !defined(__CUDACC__)
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw Error(fmt::format(format, std::forward<Args>(args)...));
}
#else
// Note [nvcc and fmt]: each "{...}" in the format takes the next argument, printed with
// operator<< or an append_arg overload (shapes here; DType and Device next to their types).
inline void append_arg(std::ostringstream& os, const std::vector<int64_t>& v) {
    os << '[';
    for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
    os << ']';
}
template <typename T>
void append_arg(std::ostringstream& os, const T& v) {
    os << v;
}
inline void format_rest(std::ostringstream& os, std::string_view f) { os << f; }
template <typename A, typename... Rest>
void format_rest(std::ostringstream& os, std::string_view f, const A& a, const Rest&... rest) {
    size_t open = f.find('{');
    if (open == std::string_view::npos) {
        os << f;
        return;
    }
    size_t close = f.find('}', open);
    os << f.substr(0, open);
    append_arg(os, a);
    format_rest(os, f.substr(close + 1), rest...);
}
template <typename... Args>
[[noreturn]] void fail(std::string_view format, const Args&... args) {
    std::ostringstream os;
    format_rest(os, format, args...);
    throw Error(os.str());
}
#endif

}  // namespace marrow

// MARROW_CHECK(cond, "fmt {}", args...): throws marrow::Error with the formatted message.
#define MARROW_CHECK(cond, ...)                   \
    do {                                          \
        if (!(cond)) ::marrow::fail(__VA_ARGS__); \
    } while (0)
