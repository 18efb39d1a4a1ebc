// The method forms of the common ops (tensor/tensor.h): each is the free function of the same
// name (autograd/ops.h), so x.sum({1}) records the same graph as sum(x, {1}).
#include "autograd/ops.h"

namespace marrow {

using Dims = std::vector<int64_t>;

Tensor Tensor::sum(const Dims& dims, bool keepdim) const { return marrow::sum(*this, dims, keepdim); }
Tensor Tensor::mean(const Dims& dims, bool keepdim) const {
    return marrow::mean(*this, dims, keepdim);
}
Tensor Tensor::var(const Dims& dims, bool unbiased, bool keepdim) const {
    return marrow::var(*this, dims, unbiased, keepdim);
}
Tensor Tensor::std(const Dims& dims, bool unbiased, bool keepdim) const {
    return marrow::std(*this, dims, unbiased, keepdim);
}
Tensor Tensor::max() const { return marrow::max(*this); }
Tensor Tensor::min() const { return marrow::min(*this); }
Tensor Tensor::argmax(std::optional<int64_t> dim, bool keepdim) const {
    return marrow::argmax(*this, dim, keepdim);
}
Tensor Tensor::norm(double p, const Dims& dims, bool keepdim) const {
    return marrow::norm(*this, p, dims, keepdim);
}
Tensor Tensor::neg() const { return marrow::neg(*this); }
Tensor Tensor::abs() const { return marrow::abs(*this); }
Tensor Tensor::exp() const { return marrow::exp(*this); }
Tensor Tensor::log() const { return marrow::log(*this); }
Tensor Tensor::sqrt() const { return marrow::sqrt(*this); }
Tensor Tensor::sigmoid() const { return marrow::sigmoid(*this); }
Tensor Tensor::tanh() const { return marrow::tanh(*this); }
Tensor Tensor::relu() const { return marrow::relu(*this); }
Tensor Tensor::pow(double exponent) const { return marrow::pow(*this, exponent); }
Tensor Tensor::clamp(double min, double max) const { return marrow::clamp(*this, min, max); }
Tensor Tensor::softmax(int64_t dim) const { return marrow::softmax(*this, dim); }
Tensor Tensor::log_softmax(int64_t dim) const { return marrow::log_softmax(*this, dim); }
Tensor Tensor::matmul(const Tensor& other) const { return marrow::matmul(*this, other); }
Tensor Tensor::mm(const Tensor& other) const { return marrow::mm(*this, other); }
Tensor Tensor::reshape(const Shape& shape) const { return marrow::reshape(*this, shape); }
Tensor Tensor::view(const Shape& shape) const { return marrow::view(*this, shape); }
Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
    return marrow::flatten(*this, start_dim, end_dim);
}
Tensor Tensor::squeeze(std::optional<int64_t> dim) const { return marrow::squeeze(*this, dim); }
Tensor Tensor::unsqueeze(int64_t dim) const { return marrow::unsqueeze(*this, dim); }
Tensor Tensor::expand(const Shape& shape) const { return marrow::expand(*this, shape); }
Tensor Tensor::permute(const Dims& dims) const { return marrow::permute(*this, dims); }
Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
    return marrow::transpose(*this, dim0, dim1);
}
Tensor Tensor::t() const {
    MARROW_CHECK(dim() <= 2, "t(): expects a tensor with <= 2 dims, got shape {}", shape());
    return dim() < 2 ? *this : marrow::transpose(*this, 0, 1);
}
Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
    return marrow::narrow(*this, dim, start, length);
}
Tensor Tensor::index_select(int64_t dim, const Tensor& index) const {
    return marrow::index_select(*this, dim, index);
}
Tensor Tensor::gather(int64_t dim, const Tensor& index) const {
    return marrow::gather(*this, dim, index);
}
Tensor Tensor::contiguous() const { return marrow::contiguous(*this); }
Tensor Tensor::clone() const { return marrow::clone(*this); }
Tensor Tensor::detach() const { return marrow::detach(*this); }
Tensor Tensor::to(DType dtype) const { return marrow::to(*this, dtype); }
Tensor Tensor::to(Device device) const { return marrow::to(*this, device); }
Tensor Tensor::to(Device device, DType dtype) const { return marrow::to(*this, device, dtype); }

}  // namespace marrow
