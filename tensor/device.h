// Device: where a tensor's storage lives. The CPU backend is always present; the CUDA backend
// (cuda/) registers kernels for DeviceType::cuda into the same dispatch table.
#pragma once

#include <cstdint>

namespace marrow {

enum class DeviceType : uint8_t { cpu, cuda };
inline constexpr int kNumDeviceTypes = 2;

struct Device {
    DeviceType type = DeviceType::cpu;
    int index = 0;
    bool operator==(const Device&) const = default;
    static Device cpu() { return {DeviceType::cpu, 0}; }
    static Device cuda(int index = 0) { return {DeviceType::cuda, index}; }
};

}  // namespace marrow

#if !defined(__CUDACC__)
#include <fmt/format.h>

template <>
struct fmt::formatter<marrow::Device> : fmt::formatter<std::string_view> {
    auto format(marrow::Device d, format_context& ctx) const {
        if (d.type == marrow::DeviceType::cpu) return fmt::format_to(ctx.out(), "cpu");
        return fmt::format_to(ctx.out(), "cuda:{}", d.index);
    }
};
#else
#include <sstream>

namespace marrow {
inline void append_arg(std::ostringstream& os, Device d) {
    if (d.type == DeviceType::cpu)
        os << "cpu";
    else
        os << "cuda:" << d.index;
}
}  // namespace marrow
#endif
