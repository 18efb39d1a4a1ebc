#include "tensor/tensor.h"

#include "tensor/format.h"
#include "tensor/ops/copy.h"

namespace marrow {

Tensor::Tensor(std::shared_ptr<Storage> storage, int64_t offset, Shape shape, Shape strides,
               DType dtype)
    : impl_(std::make_shared<TensorImpl>()) {
    MARROW_CHECK(storage != nullptr, "Tensor: null storage");
    MARROW_CHECK(shape.size() == strides.size(), "Tensor: shape {} and strides {} differ in rank",
                 shape, strides);
    MARROW_CHECK(offset >= 0, "Tensor: negative offset {}", offset);
    int64_t last = offset;  // highest element index reached
    bool empty = false, overflow = false;
    for (size_t i = 0; i < shape.size(); ++i) {
        MARROW_CHECK(shape[i] >= 0, "Tensor: negative size in shape {}", shape);
        MARROW_CHECK(strides[i] >= 0, "Tensor: negative stride in strides {}", strides);
        int64_t reach;  // Note [Checked shape products]
        if (shape[i] == 0)
            empty = true;
        else
            overflow = overflow || __builtin_mul_overflow(shape[i] - 1, strides[i], &reach) ||
                       __builtin_add_overflow(last, reach, &last);
    }
    int64_t need_bytes = 0;
    overflow = overflow || __builtin_add_overflow(last, 1, &need_bytes) ||
               __builtin_mul_overflow(need_bytes, int64_t(dtype_size(dtype)), &need_bytes);
    MARROW_CHECK(empty || !overflow,
                 "Tensor: view (shape {}, strides {}, offset {}) reaches past int64", shape,
                 strides, offset);
    size_t need = empty ? 0 : size_t(need_bytes);
    MARROW_CHECK(need <= storage->nbytes(),
                 "Tensor: view (shape {}, strides {}, offset {}) of {} needs {} bytes but "
                 "storage has {}",
                 shape, strides, offset, dtype, need, storage->nbytes());
    impl_->storage = std::move(storage);
    impl_->offset = offset;
    impl_->shape = std::move(shape);
    impl_->strides = std::move(strides);
    impl_->dtype = dtype;
}

int64_t Tensor::size(int64_t d) const { return shape()[size_t(wrap_dim(d, dim(), "size"))]; }
int64_t Tensor::stride(int64_t d) const { return strides()[size_t(wrap_dim(d, dim(), "stride"))]; }

bool Tensor::is_contiguous() const {
    int64_t expected = 1;
    for (size_t i = shape().size(); i-- > 0;) {
        if (shape()[i] == 1) continue;
        if (strides()[i] != expected) return false;
        expected *= shape()[i];
    }
    return true;
}

void* Tensor::raw_data() const {
    return static_cast<char*>(impl_->storage->data()) + impl_->offset * int64_t(element_size());
}

double Tensor::item() const {
    MARROW_CHECK(numel() == 1, "item(): tensor of shape {} has {} elements, expected 1", shape(),
                 numel());
    Tensor host = device().type == DeviceType::cpu ? *this : op::to_device(*this, Device::cpu());
    return visit_dtype(dtype(), [&]<typename T>() { return double(*host.data<T>()); });
}

Tensor Tensor::alias() const {
    return Tensor(impl_->storage, impl_->offset, impl_->shape, impl_->strides, impl_->dtype);
}

void Tensor::set_data(const Tensor& value) const {
    MARROW_CHECK(is_leaf(), "set_data: only a leaf tensor's data can be replaced (shape {})",
                 shape());
    MARROW_CHECK(!requires_grad() || is_floating(value.dtype()),
                 "set_data: a tensor that requires grad must stay floating, got {}",
                 value.dtype());
    bool same_kind =
        value.shape() == shape() && value.dtype() == dtype() && value.device() == device();
    if (!same_kind && has_grad()) set_grad(std::nullopt);
    impl_->storage = value.impl_->storage;
    impl_->offset = value.impl_->offset;
    impl_->shape = value.impl_->shape;
    impl_->strides = value.impl_->strides;
    impl_->dtype = value.impl_->dtype;
}

Tensor Tensor::as_strided(Shape shape, Shape strides, int64_t offset) const {
    return Tensor(impl_->storage, offset, std::move(shape), std::move(strides), impl_->dtype);
}

AutogradMeta& Tensor::meta() const {
    if (!impl_->autograd) impl_->autograd = std::make_unique<AutogradMeta>();
    return *impl_->autograd;
}

const Tensor& Tensor::requires_grad_(bool value) const {
    MARROW_CHECK(!value || is_floating(dtype()),
                 "requires_grad_: only floating tensors can require gradients, got {}", dtype());
    MARROW_CHECK(is_leaf() || value,
                 "requires_grad_(false) on a non-leaf tensor: use detach() instead");
    meta().requires_grad = value;
    return *this;
}

Tensor Tensor::grad() const {
    MARROW_CHECK(has_grad(),
                 "grad(): tensor of shape {} has no gradient ({}); check has_grad() before "
                 "reading it",
                 shape(),
                 requires_grad() ? "it took no part in a backward() since its gradient was last "
                                   "reset"
                                 : "it does not require grad: call requires_grad_() before the "
                                   "forward pass");
    return *impl_->autograd->grad;
}

void Tensor::set_grad(std::optional<Tensor> grad) const {
    if (grad) {
        MARROW_CHECK(grad->shape() == shape(), "set_grad: gradient shape {} != tensor shape {}",
                     grad->shape(), shape());
        meta().grad = std::make_shared<Tensor>(*grad);
    } else if (impl_->autograd) {
        impl_->autograd->grad.reset();
    }
}

const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const {
    static const std::shared_ptr<autograd::Node> none;
    return impl_->autograd ? impl_->autograd->grad_fn : none;
}

void Tensor::set_grad_fn(std::shared_ptr<autograd::Node> fn, uint32_t output_nr) const {
    AutogradMeta& m = meta();
    m.requires_grad = fn != nullptr;
    m.grad_fn = std::move(fn);
    m.output_nr = output_nr;
}

std::string Tensor::to_string() const { return fmt::format("{}", *this); }

}  // namespace marrow
