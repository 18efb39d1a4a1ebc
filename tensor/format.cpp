#include "tensor/format.h"

#include <cmath>

#include "tensor/ops/copy.h"

namespace marrow {
namespace {

constexpr int64_t kSummarizeAbove = 1000;  // elements (torch's print threshold)
constexpr int64_t kEdgeItems = 3;

struct Printer {
    const Tensor& t;  // f64 CPU copy
    bool summarize;
    std::string out;

    void value(double v, DType original) {
        if (!is_floating(original))
            out += fmt::format("{}", int64_t(v));
        else if (std::isnan(v))
            out += "nan";
        else if (std::isinf(v))
            out += v > 0 ? "inf" : "-inf";
        else
            out += fmt::format("{:.4f}", v);
    }

    void dim(int64_t d, int64_t offset, int indent, DType original) {
        if (d == t.dim()) {
            value(t.data<double>()[offset], original);
            return;
        }
        out += "[";
        int64_t n = t.size(d);
        for (int64_t i = 0; i < n; ++i) {
            if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
                out += d + 1 == t.dim() ? "..., " : "...,\n" + std::string(size_t(indent + 1), ' ');
                i = n - kEdgeItems;
            }
            dim(d + 1, offset + i * t.stride(d), indent + 1, original);
            if (i + 1 < n) {
                out += d + 1 == t.dim() ? ", " : ",\n" + std::string(size_t(indent + 1), ' ');
            }
        }
        out += "]";
    }
};

}  // namespace

std::string format_tensor(const Tensor& t) {
    Tensor host = op::contiguous(op::to_dtype(op::to_device(t, Device::cpu()), DType::f64));
    Printer p{host, t.numel() > kSummarizeAbove, "tensor("};
    p.dim(0, 0, 7, t.dtype());
    p.out += fmt::format(", dtype={}, shape={}", t.dtype(), t.shape());
    if (t.device() != Device::cpu()) p.out += fmt::format(", device={}", t.device());
    if (t.requires_grad()) p.out += ", requires_grad=True";
    return p.out + ")";
}

}  // namespace marrow
