// Tensor: a cheap handle (shared pointer to TensorImpl) onto a Storage: element offset, shape,
// strides in elements, dtype and device, plus autograd metadata. Views share the Storage and
// so its version counter. A Tensor is never uninitialized: there is no default constructor;
// "maybe a tensor" is spelled std::optional<Tensor> (e.g. backward gradients).
//
// Ops are free functions: marrow::* (autograd/ops.h, differentiable: the public API) and
// marrow::op::* (tensor/ops/).
//
// Note [Raw entry points]
// op::* are the raw entry points: they check arguments, allocate and run the kernel, and
// record no gradient. op::softmax(x) computes what softmax(x) computes, but the result has
// no grad_fn even when x requires grad, so a layer written with op::* silently stops
// training. Layers and apps call marrow::*; op::* is for backward formulas (which run with
// grad mode off) and for code below autograd.
// The common ones are also methods (x.sum({1}), x.exp(), x.to(DType::f32)): thin calls of the
// free functions, defined in autograd/functions/methods.cpp.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace marrow {

namespace autograd {
class Node;
}

class Tensor;

// Autograd metadata; absent (nullptr) on tensors that never took part in autograd.
struct AutogradMeta {
    bool requires_grad = false;
    std::shared_ptr<Tensor> grad;             // accumulated by the engine into leaves
    std::shared_ptr<autograd::Node> grad_fn;  // producer of a non-leaf tensor
    uint32_t output_nr = 0;                   // which output of grad_fn this tensor is
};

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    int64_t offset = 0;
    Shape shape;
    Shape strides;
    DType dtype = DType::f32;
    std::unique_ptr<AutogradMeta> autograd;
};

class Tensor {
public:
    // A view of `storage` starting `offset` elements in; checks that it fits.
    Tensor(std::shared_ptr<Storage> storage, int64_t offset, Shape shape, Shape strides,
           DType dtype);

    const Shape& shape() const { return impl_->shape; }
    const Shape& strides() const { return impl_->strides; }
    int64_t dim() const { return int64_t(impl_->shape.size()); }
    int64_t size(int64_t d) const;
    int64_t stride(int64_t d) const;
    int64_t offset() const { return impl_->offset; }
    int64_t numel() const { return shape_numel(impl_->shape); }
    DType dtype() const { return impl_->dtype; }
    Device device() const { return impl_->storage->device(); }
    size_t element_size() const { return dtype_size(impl_->dtype); }
    const std::shared_ptr<Storage>& storage() const { return impl_->storage; }
    bool is_contiguous() const;

    // Pointer to the first element (storage base + offset), on the tensor's device.
    // data<T>() is for host code: it checks T against the dtype and that the tensor is on the
    // CPU; data_ptr<T>() skips the device check (kernel launchers pass device pointers).
    void* raw_data() const;
    template <typename T>
    T* data_ptr() const {
        MARROW_CHECK(dtype_v<T> == dtype(), "data<{}>() called on a {} tensor", dtype_v<T>,
                     dtype());
        return static_cast<T*>(raw_data());
    }
    template <typename T>
    T* data() const {
        MARROW_CHECK(device().type == DeviceType::cpu,
                     "data<{}>(): the tensor (shape {}) is on {}; its memory is not readable "
                     "here: copy it first with to(t, Device::cpu())",
                     dtype_v<T>, shape(), device());
        return data_ptr<T>();
    }
    // The single value of a one-element tensor, as double (CPU tensors; others are copied).
    double item() const;

    // Identity and aliasing.
    bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
    // Whether this handle is the only way to this tensor's memory: no other handle of it, no
    // view or other tensor on its storage (so it may be adopted instead of copied).
    bool is_sole_owner() const {
        return impl_.use_count() == 1 && impl_->storage.use_count() == 1;
    }
    // A new handle onto the same storage/view with no autograd history (= detach()).
    Tensor alias() const;
    // Points this handle (and every other handle of it) at `value`'s storage, view and dtype,
    // keeping its autograd flags: PyTorch's `param.data = value`. For leaves only (what
    // Module::to does to parameters, so the optimizer's handles follow); the gradient, if
    // any, is dropped when the shape, dtype or device changes.
    void set_data(const Tensor& value) const;
    // Same storage, new geometry (the primitive behind every view op).
    Tensor as_strided(Shape shape, Shape strides, int64_t offset) const;

    // Note [Version counter]
    uint64_t version() const { return impl_->storage->version(); }
    void bump_version() const { impl_->storage->bump_version(); }

    // Autograd metadata. requires_grad_ is for leaves (floating dtypes only).
    bool requires_grad() const { return impl_->autograd && impl_->autograd->requires_grad; }
    const Tensor& requires_grad_(bool value = true) const;
    // The gradient accumulated by backward(). A tensor that received none (it took no part
    // in a backward since zero_grad(), or does not require grad) has no gradient: grad()
    // then throws an error saying so; check has_grad() where that is expected (a frozen
    // or unused parameter).
    bool has_grad() const { return impl_->autograd && impl_->autograd->grad; }
    Tensor grad() const;
    void set_grad(std::optional<Tensor> grad) const;
    // Forgets the accumulated gradient (PyTorch's zero_grad(set_to_none=True)).
    void zero_grad() const { set_grad(std::nullopt); }
    const std::shared_ptr<autograd::Node>& grad_fn() const;
    uint32_t output_nr() const { return impl_->autograd ? impl_->autograd->output_nr : 0; }
    void set_grad_fn(std::shared_ptr<autograd::Node> fn, uint32_t output_nr) const;
    bool is_leaf() const { return grad_fn() == nullptr; }

    // Reverse-mode autograd from this tensor (defined in autograd/engine.cpp). A non-scalar
    // needs an explicit `gradient` of the same shape.
    void backward(std::optional<Tensor> gradient = std::nullopt, bool retain_graph = false) const;

    std::string to_string() const;

    // ---- method forms of the common ops (PyTorch's names; the free functions document them)
    Tensor sum(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
    Tensor mean(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
    Tensor var(const std::vector<int64_t>& dims = {}, bool unbiased = true,
               bool keepdim = false) const;
    Tensor std(const std::vector<int64_t>& dims = {}, bool unbiased = true,
               bool keepdim = false) const;
    Tensor max() const;
    Tensor min() const;
    Tensor argmax(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
    Tensor norm(double p = 2, const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
    Tensor neg() const;
    Tensor abs() const;
    Tensor exp() const;
    Tensor log() const;
    Tensor sqrt() const;
    Tensor sigmoid() const;
    Tensor tanh() const;
    Tensor relu() const;
    Tensor pow(double exponent) const;
    Tensor clamp(double min, double max) const;
    Tensor softmax(int64_t dim) const;
    Tensor log_softmax(int64_t dim) const;
    Tensor matmul(const Tensor& other) const;
    Tensor mm(const Tensor& other) const;
    Tensor reshape(const Shape& shape) const;
    Tensor view(const Shape& shape) const;
    Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
    Tensor squeeze(std::optional<int64_t> dim = std::nullopt) const;
    Tensor unsqueeze(int64_t dim) const;
    Tensor expand(const Shape& shape) const;
    Tensor permute(const std::vector<int64_t>& dims) const;
    Tensor transpose(int64_t dim0, int64_t dim1) const;
    Tensor t() const;  // transpose of a 2-d tensor (0-d and 1-d: itself), as torch.Tensor.t
    Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
    Tensor index_select(int64_t dim, const Tensor& index) const;
    Tensor gather(int64_t dim, const Tensor& index) const;
    Tensor contiguous() const;
    Tensor clone() const;
    Tensor detach() const;
    Tensor to(DType dtype) const;
    Tensor to(Device device) const;
    Tensor to(Device device, DType dtype) const;

private:
    AutogradMeta& meta() const;
    std::shared_ptr<TensorImpl> impl_;
};

}  // namespace marrow
