#include "tensor/dispatch.h"

#include <array>
#include <mutex>

#include "tensor/error.h"

namespace marrow {
namespace {

using Table = std::array<std::array<AnyKernel, kNumDeviceTypes>, size_t(OpId::count)>;

Table& raw_table() {
    static Table table{};
    return table;
}

Table& table() {
    static std::once_flag once;
    std::call_once(once, [] {
        register_cpu_kernels();
        register_cuda_kernels();
    });
    return raw_table();
}

}  // namespace

void ensure_backends() { table(); }

static thread_local std::string_view t_current_op = "none";
std::string_view current_op() { return t_current_op; }
void set_current_op(std::string_view what) { t_current_op = what; }

std::string_view op_name(OpId op) {
    switch (op) {
#define MARROW_OPID_NAME(name, Signature) \
    case OpId::name:                      \
        return #name;
        MARROW_FORALL_KERNELS(MARROW_OPID_NAME)
#undef MARROW_OPID_NAME
        case OpId::count:
            break;
    }
    return "?";
}

void register_any_kernel(OpId op, DeviceType device, AnyKernel fn) {
    raw_table()[size_t(op)][size_t(device)] = fn;
}

AnyKernel find_kernel(OpId op, DeviceType device, std::string_view what) {
    AnyKernel fn = table()[size_t(op)][size_t(device)];
    if (!fn) {
        std::string_view family = op_name(op);
        fail("`{}` has no {} implementation{}", what, device == DeviceType::cpu ? "CPU" : "CUDA",
             what == family ? std::string() : fmt::format(" (kernel `{}`)", family));
    }
    return fn;
}

}  // namespace marrow
