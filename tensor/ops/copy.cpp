#include "tensor/ops/copy.h"

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/kernels.h"

namespace marrow::op {

void check_same_device(std::string_view op, const Tensor& a, const Tensor& b) {
    MARROW_CHECK(a.device() == b.device(), "{}: tensors on different devices ({} and {})", op,
                 a.device(), b.device());
}

void check_same_dtype(std::string_view op, const Tensor& a, const Tensor& b) {
    MARROW_CHECK(a.dtype() == b.dtype(),
                 "{}: dtype mismatch: {} (shape {}) vs {} (shape {}); convert one with to(t, dtype)", op,
                 a.dtype(), a.shape(), b.dtype(), b.shape());
}

Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : clone(x); }

Tensor clone(const Tensor& x) {
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    kernel<OpId::copy>(x.device())(x, out);
    return out;
}

Tensor to_dtype(const Tensor& x, DType dtype) {
    if (dtype == x.dtype()) return x;
    Tensor out = empty(x.shape(), dtype, x.device());
    kernel<OpId::copy>(x.device())(x, out);
    return out;
}

Tensor to_device(const Tensor& x, Device device) {
    if (device == x.device()) return x;
    MARROW_CHECK(device.type == DeviceType::cpu || x.device().type == DeviceType::cpu,
                 "to({}): copies between two accelerators go through the CPU (tensor of shape "
                 "{} is on {})",
                 device, x.shape(), x.device());
    Tensor src = contiguous(x);
    Tensor dst = empty(x.shape(), x.dtype(), device);  // names a missing backend or device
    Device accelerator = device.type == DeviceType::cpu ? x.device() : device;
    kernel<OpId::transfer>(accelerator)(src, dst);
    return dst;
}

void synchronize(Device device) {
    if (device.type == DeviceType::cpu) return;
    kernel<OpId::synchronize>(device)(device.index);
}

void copy_(const Tensor& dst, const Tensor& src) {
    check_same_device("copy_", dst, src);
    Shape strides = broadcast_strides(src.shape(), src.strides(), dst.shape(), "copy_");
    Tensor view = src.as_strided(dst.shape(), strides, src.offset());
    kernel<OpId::copy>(dst.device())(view, dst);
    dst.bump_version();
}

void fill_(const Tensor& dst, double value) {
    kernel<OpId::fill>(dst.device())(dst, value);
    dst.bump_version();
}

}  // namespace marrow::op
