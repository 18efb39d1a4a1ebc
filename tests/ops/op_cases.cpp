// Assembles the registry from the per-family case files (tests/ops/cases/*.cpp), adds the
// composed twins the fused cases name, and makes inputs for any tier. The PyTorch twin of
// every case is in tests/golden/gen/gen_ops.py under the same case name.
#include "tests/ops/op_cases.h"

#include <set>

#include "autograd/ops.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"
#include "tests/ops/cases/cases.h"

namespace marrow::test {
namespace cases {

CaseRef CaseList::add(std::string name, std::string op, std::vector<InputSpec> inputs, OpFn fn,
                      TolClass tol, bool differentiable) {
    OpCase c;
    c.name = std::move(name);
    c.op = std::move(op);
    c.family = family_;
    c.inputs = std::move(inputs);
    c.fn = std::move(fn);
    c.tol = tol;
    c.differentiable = differentiable;
    list_->push_back(std::move(c));
    return CaseRef(*list_, list_->size() - 1);
}

CaseRef& CaseRef::parity(std::vector<Shape> shapes) {
    MARROW_CHECK(get().composed.empty(),
                 "op case {}: give parity shapes before .composed(), which copies them",
                 get().name);
    MARROW_CHECK(shapes.size() == get().inputs.size(), "op case {}: {} parity shapes for {} inputs",
                 get().name, shapes.size(), get().inputs.size());
    get().parity_shapes = std::move(shapes);
    return *this;
}

CaseRef& CaseRef::bench(std::string name, std::vector<Shape> shapes, BenchOn on) {
    MARROW_CHECK(shapes.size() == get().inputs.size(),
                 "op case {}: bench {} has {} shapes for {} inputs", get().name, name,
                 shapes.size(), get().inputs.size());
    get().bench.push_back({std::move(name), std::move(shapes), on, false});
    return *this;
}

CaseRef& CaseRef::bench_bwd(std::string name, std::vector<Shape> shapes) {
    bench(std::move(name), std::move(shapes));
    get().bench.back().backward = true;
    return *this;
}

CaseRef& CaseRef::composed(OpFn fn) {
    OpCase twin = get();
    twin.name = get().name + "_composed";
    twin.op = get().op + "_composed";
    twin.fn = std::move(fn);
    twin.bench.clear();
    twin.composed.clear();
    get().composed = twin.name;
    list_->push_back(std::move(twin));  // `get()` re-reads the list: no reference dangles
    return *this;
}

}  // namespace cases

namespace {

std::vector<OpCase> build() {
    std::vector<OpCase> list;
    cases::add_unary(list);
    cases::add_binary(list);
    cases::add_reduce(list);
    cases::add_gemm(list);
    cases::add_softmax(list);
    cases::add_shape(list);
    cases::add_index(list);
    cases::add_conv(list);
    cases::add_norm(list);
    cases::add_pool(list);
    cases::add_layer_norm(list);
    cases::add_interpolate(list);
    cases::add_attention(list);
    cases::add_contrastive(list);
    cases::add_sinkhorn(list);
    cases::add_crop_cross_entropy(list);
    std::set<std::string> names, bench_names;
    for (const OpCase& c : list) {
        MARROW_CHECK(names.insert(c.name).second, "op case registry: case {} is listed twice",
                     c.name);
        for (const BenchSize& b : c.bench)
            MARROW_CHECK(bench_names.insert(b.name).second,
                         "op case registry: benchmark {} (case {}) is listed twice", b.name,
                         c.name);
    }
    return list;
}

}  // namespace

const char* tier_name(Tier tier) {
    switch (tier) {
        case Tier::small:
            return "small";
        case Tier::parity:
            return "parity";
        case Tier::bench:
            return "bench";
    }
    return "?";
}

const std::vector<OpCase>& op_cases() {
    static const std::vector<OpCase> cases = build();
    return cases;
}

const OpCase& op_case(const std::string& name) {
    for (const OpCase& c : op_cases())
        if (c.name == name) return c;
    fail("op case registry: no case named \"{}\"", name);
}

std::vector<Shape> shapes_at(const OpCase& c, Tier tier) {
    MARROW_CHECK(tier != Tier::bench, "shapes_at({}): bench shapes are per BenchSize", c.name);
    if (tier == Tier::parity) return c.parity_shapes;
    std::vector<Shape> shapes;
    for (const InputSpec& s : c.inputs) shapes.push_back(s.shape);
    return shapes;
}

TolClass tol_at(const OpCase& c, Tier tier) {
    return tier != Tier::small && c.tol == TolClass::matmul ? TolClass::matmul_deep : c.tol;
}

const std::vector<std::string>& required_differentiable_ops() {
    static const std::vector<std::string> ops = {
        "neg",          "abs",       "sign",        "exp",       "log",     "log1p",
        "sqrt",         "rsqrt",     "sin",         "cos",       "tanh",    "sigmoid",
        "relu",         "gelu",      "silu",        "softplus",  "clamp",   "pow",
        "reciprocal",   "add",       "sub",         "mul",       "div",     "maximum",
        "minimum",      "where",     "masked_fill", "sum",       "mean",    "var",
        "std",          "max",       "min",         "logsumexp", "norm",    "matmul",
        "bmm",          "mm",        "addmm",       "linear",    "outer",   "softmax",
        "log_softmax",  "cumsum",    "reshape",     "view",      "flatten", "squeeze",
        "unsqueeze",    "expand",    "permute",     "transpose", "narrow",  "slice",
        "chunk",        "split",     "cat",         "stack",     "pad",     "flip",
        "index_select", "gather",    "scatter_add", "embedding", "topk",    "sort",
        "clone",        "contiguous",
        // issue 12 (ResNets): convolution, batch norm, pooling, dropout, normalize
        "conv2d", "batch_norm",
        "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "dropout", "normalize",
        // issue 14 (vision transformers)
        "layer_norm", "scaled_dot_product_attention", "interpolate", "drop_path",
        // issue 15 (self-supervised pre-training)
        "nt_xent", "koleo_loss"};
    return ops;
}

Tensor apply_layout(const Tensor& values, Layout layout) {
    if (layout == Layout::contiguous || values.dim() == 0) return op::clone(values);
    if (layout == Layout::transposed) {
        if (values.dim() < 2) return op::clone(values);
        Tensor base = op::clone(op::transpose(values, -1, -2));  // memory in swapped order
        return op::transpose(base, -1, -2);
    }
    Shape wide = values.shape();
    wide.back() *= 2;
    Tensor base = zeros(wide, values.dtype(), values.device());
    Tensor view = op::slice(base, -1, 0, wide.back(), 2);
    op::copy_(view, values);
    return view;
}

std::vector<Tensor> make_values(const OpCase& c, const std::vector<Shape>& shapes, DType dtype,
                                uint64_t seed) {
    MARROW_CHECK(shapes.size() == c.inputs.size(), "make_values({}): {} shapes for {} inputs",
                 c.name, shapes.size(), c.inputs.size());
    Generator gen(seed);
    std::vector<Tensor> values;
    for (size_t i = 0; i < shapes.size(); ++i) {
        const Shape& shape = shapes[i];
        const InputSpec& s = c.inputs[i];
        switch (s.domain) {
            case Domain::positive:
                values.push_back(rand(shape, dtype, Device::cpu(), gen) * 1.5 + 0.5);
                break;
            case Domain::nonzero: {
                Tensor r = randn(shape, dtype, Device::cpu(), gen);
                values.push_back(r + sign(r) * 0.2);
                break;
            }
            case Domain::index:
                values.push_back(randint(0, s.index_high, shape, DType::i64, Device::cpu(), gen));
                break;
            case Domain::any:
                values.push_back(randn(shape, dtype, Device::cpu(), gen));
                break;
        }
    }
    return values;
}

std::vector<Tensor> make_case_inputs(const OpCase& c, const std::vector<Tensor>& values,
                                     Device device, bool apply_layouts) {
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < values.size(); ++i) {
        Tensor v = values[i].device() == device ? values[i] : to(values[i], device);
        Tensor x = apply_layout(v, apply_layouts ? c.inputs[i].layout : Layout::contiguous);
        if (c.inputs[i].differentiable && c.differentiable) x.requires_grad_();
        inputs.push_back(x);
    }
    return inputs;
}

std::vector<Tensor> make_inputs(const OpCase& c, uint64_t seed) {
    return make_case_inputs(c, make_values(c, shapes_at(c, Tier::small), DType::f64, seed),
                            Device::cpu());
}

}  // namespace marrow::test
