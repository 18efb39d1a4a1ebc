#include "tensor/ops/elementwise.h"

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/math/unary_math.h"
#include "tensor/ops/copy.h"

namespace marrow {

std::string_view unary_name(UnaryOp op) {
    switch (op) {
#define MARROW_UNARY_NAME(name) \
    case UnaryOp::name:         \
        return #name;
        MARROW_FORALL_UNARY(MARROW_UNARY_NAME)
#undef MARROW_UNARY_NAME
    }
    return "?";
}

UnarySaves unary_saves(UnaryOp op) {
    UnarySaves saves = UnarySaves::input;
    math::visit_unary(op, [&]<UnaryOp Op>() { saves = math::Unary<Op>::saves; });
    return saves;
}

std::string_view binary_name(BinaryOp op) {
    constexpr const char* names[] = {"add",     "sub",     "mul", "div",         "pow",
                                     "maximum", "minimum", "eq",  "ne",          "lt",
                                     "le",      "gt",      "ge",  "logical_and", "logical_or"};
    return names[int(op)];
}

namespace op {
namespace {

Tensor broadcast_view(const Tensor& x, const Shape& shape, std::string_view op) {
    return x.as_strided(shape, broadcast_strides(x.shape(), x.strides(), shape, op), x.offset());
}

// PyTorch's type promotion for the common cases: bool < integers < floating; between
// integers the wider one; two different floating dtypes are an error (f16/bf16/f32/f64
// mixes are conversions the caller should see).
DType promote(std::string_view op, const Tensor& a, const Tensor& b) {
    DType da = a.dtype(), db = b.dtype();
    if (da == db) return da;
    auto rank = [](DType d) { return d == DType::b8 ? 0 : is_floating(d) ? 2 : 1; };
    int ra = rank(da), rb = rank(db);
    if (ra != rb) return ra > rb ? da : db;
    MARROW_CHECK(ra == 1,
                 "{}: dtype mismatch: {} (shape {}) vs {} (shape {}); floating dtypes are not "
                 "mixed implicitly: convert one with to(t, dtype)",
                 op, da, a.shape(), db, b.shape());
    return dtype_size(da) >= dtype_size(db) ? da : db;
}

Tensor promoted(const Tensor& t, DType dtype) {
    return t.dtype() == dtype ? t : to_dtype(t, dtype);
}

void check_divisor(BinaryOp op, const Tensor& b) {
    if (op != BinaryOp::div || is_floating(b.dtype())) return;
    Tensor zero = binary(BinaryOp::eq, b, 0.0);
    Tensor any = to_device(to_dtype(zero, DType::f64), Device::cpu());  // read on the host
    bool has_zero = false;
    const double* p = static_cast<const double*>(contiguous(any).raw_data());
    for (int64_t i = 0; i < any.numel(); ++i) has_zero |= p[i] != 0;
    MARROW_CHECK(!has_zero, "div: integer division by zero");
}

}  // namespace

Tensor unary(UnaryOp op, const Tensor& x, UnaryParams params) {
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    kernel<OpId::unary>(x.device(), unary_name(op))(op, params, x, out);
    return out;
}

Tensor unary_backward(UnaryOp op, const Tensor& saved, const Tensor& g, UnaryParams params) {
    MARROW_CHECK(saved.shape() == g.shape(), "{} backward: gradient shape {} != input shape {}",
                 unary_name(op), g.shape(), saved.shape());
    check_same_device(unary_name(op), saved, g);
    check_same_dtype(unary_name(op), saved, g);
    Tensor gx = empty(saved.shape(), saved.dtype(), saved.device());
    kernel<OpId::unary_backward>(saved.device(), unary_name(op))(op, params, saved, g, gx);
    return gx;
}

Tensor binary(BinaryOp op, const Tensor& a_in, const Tensor& b_in) {
    std::string_view name = binary_name(op);
    check_same_device(name, a_in, b_in);
    DType dtype = promote(name, a_in, b_in);
    Tensor a = promoted(a_in, dtype), b = promoted(b_in, dtype);
    check_divisor(op, b);
    Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
    Tensor out = empty(shape, is_comparison(op) ? DType::b8 : dtype, a.device());
    kernel<OpId::binary>(a.device(), name)(op, broadcast_view(a, shape, name),
                                           broadcast_view(b, shape, name), out);
    return out;
}

Tensor binary(BinaryOp op, const Tensor& a, double b) {
    return binary(op, a, full({}, b, a.dtype(), a.device()));
}

void binary_(BinaryOp op, const Tensor& a, const Tensor& b_in) {
    std::string_view name = binary_name(op);
    check_same_device(name, a, b_in);
    MARROW_CHECK(promote(name, a, b_in) == a.dtype(),
                 "{}_: the result of {} (shape {}) and {} (shape {}) would be {}, which cannot be "
                 "written in place into the {} tensor",
                 name, a.dtype(), a.shape(), b_in.dtype(), b_in.shape(), promote(name, a, b_in),
                 a.dtype());
    Tensor b = promoted(b_in, a.dtype());
    MARROW_CHECK(!is_comparison(op), "{}_: comparison ops have no in-place form", name);
    kernel<OpId::binary>(a.device(), name)(op, a, broadcast_view(b, a.shape(), name), a);
    a.bump_version();
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    MARROW_CHECK(cond.dtype() == DType::b8, "where: condition must be bool, got {}", cond.dtype());
    check_same_dtype("where", a, b);
    check_same_device("where", a, b);
    check_same_device("where", cond, a);
    Shape shape =
        broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
    Tensor out = empty(shape, a.dtype(), a.device());
    kernel<OpId::where>(a.device())(broadcast_view(cond, shape, "where"),
                                                 broadcast_view(a, shape, "where"),
                                                 broadcast_view(b, shape, "where"), out);
    return out;
}

}  // namespace op
}  // namespace marrow
