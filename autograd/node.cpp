#include "autograd/node.h"

#include <atomic>
#include <cmath>

#include "autograd/grad_mode.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/elementwise.h"

namespace marrow::autograd {

static std::atomic<uint64_t> g_next_sequence_nr{0};

Node::Node(std::string name)
    : name_(std::move(name)), sequence_nr_(g_next_sequence_nr++), scope_(current_scope()) {}

std::string Node::describe() const {
    return fmt::format("`{}` (op #{}{}{})", name_, sequence_nr_, scope_.empty() ? "" : " in scope ",
                       scope_);
}

static std::atomic<int64_t> g_saved_bytes{0};

struct SavedTensor::Entry {
    Entry(const Tensor& t, const char* op)
        : tensor(t.alias()), version(t.version()), op(op), bytes(t.numel() * int64_t(t.element_size())) {
        g_saved_bytes += bytes;
    }
    ~Entry() { g_saved_bytes -= bytes; }
    Tensor tensor;
    uint64_t version;
    const char* op;
    int64_t bytes;
};

SavedTensor::SavedTensor(const Tensor& t, const char* op)
    : entry_(std::make_shared<const Entry>(t, op)) {}

const Tensor& SavedTensor::get() const {
    MARROW_CHECK(entry_ != nullptr,
                 "backward read a tensor its op did not save (it saves a tensor only for the "
                 "gradients that need it: Note [Gradients only where needed])");
    const Tensor& t = entry_->tensor;
    MARROW_CHECK(t.version() == entry_->version,
                 "one of the tensors needed for gradient computation has been modified by an "
                 "in-place operation: `{}` saved a tensor of shape {} at version {}, and it is "
                 "now at version {}",
                 entry_->op, t.shape(), entry_->version, t.version());
    return t;
}

SavedTensor save_if(bool needed, const Tensor& t, const char* op) {
    return needed ? SavedTensor(t, op) : SavedTensor();
}

bool needs_grad(const Tensor& t) { return grad_enabled() && t.requires_grad(); }

int64_t saved_tensor_bytes() { return g_saved_bytes.load(); }

Grads FunctionNode::apply(Grads&& grad_outputs) {
    MARROW_CHECK(fn_ != nullptr,
                 "backward through {} a second time: its saved tensors were freed after the "
                 "first backward (pass retain_graph = true to keep them)",
                 describe());
    std::vector<bool> needs;
    for (const Edge& e : next_edges) needs.push_back(e.node != nullptr);
    return fn_(grad_outputs, NeedsGrad(std::move(needs)));
}

AccumulateGrad::AccumulateGrad(Tensor leaf) : Node("AccumulateGrad"), leaf_(std::move(leaf)) {}

Grads AccumulateGrad::apply(Grads&& grad_outputs) {
    std::optional<Tensor>& g = grad_outputs[0];
    if (!g) return {};
    // leaf.grad never aliases a tensor of the graph, or the caller's: a fresh buffer, except
    // that a first gradient nothing else can reach (the engine's buffer was its last handle)
    // is adopted as it is, as PyTorch's AccumulateGrad steals it (a ViT-S step copied 88 MB).
    bool adoptable = !leaf_.has_grad() && g->is_sole_owner() && !g->requires_grad() &&
                     g->is_contiguous() && g->offset() == 0 &&
                     g->storage()->nbytes() == size_t(g->numel()) * g->element_size() &&
                     g->dtype() == leaf_.dtype() && g->shape() == leaf_.shape();
    if (adoptable)
        leaf_.set_grad(std::move(*g));
    else
        leaf_.set_grad(leaf_.has_grad() ? op::binary(BinaryOp::add, leaf_.grad(), *g)
                                        : op::clone(*g));
    return {};
}

bool any_requires_grad(const std::vector<Tensor>& inputs) {
    for (const Tensor& t : inputs)
        if (t.requires_grad()) return true;
    return false;
}

void check_finite(const Tensor& t, const std::string& what) {
    if (!is_floating(t.dtype())) return;
    Tensor host = op::contiguous(op::to_dtype(op::to_device(t, Device::cpu()), DType::f64));
    const double* p = host.data<double>();
    for (int64_t i = 0; i < host.numel(); ++i)
        MARROW_CHECK(std::isfinite(p[i]), "anomaly: {} contains {} at flat index {} (shape {})",
                     what, std::isnan(p[i]) ? "NaN" : "Inf", i, t.shape());
}

std::vector<Tensor> record_node(const char* name, const std::vector<Tensor>& inputs,
                                std::vector<Tensor> outputs, BackwardFn backward) {
    for (Tensor& out : outputs)
        for (const Tensor& in : inputs)
            if (out.is_same(in)) out = out.alias();
    if (anomaly_enabled()) {
        for (size_t i = 0; i < outputs.size(); ++i)
            check_finite(outputs[i], fmt::format("output {} of `{}` (forward, op created in "
                                                 "scope \"{}\")",
                                                 i, name, current_scope()));
    }
    if (!grad_enabled() || !any_requires_grad(inputs)) return outputs;
    auto node = std::make_shared<FunctionNode>(name, std::move(backward));
    node->num_outputs = uint32_t(outputs.size());
    for (const Tensor& out : outputs) node->output_shapes.push_back(out.shape());
    node->output_dtype = outputs[0].dtype();
    node->output_device = outputs[0].device();
    for (const Tensor& in : inputs) {
        node->input_shapes.push_back(in.shape());
        if (!in.requires_grad())
            node->next_edges.push_back({});
        else if (in.is_leaf())
            node->next_edges.push_back({std::make_shared<AccumulateGrad>(in), 0});
        else
            node->next_edges.push_back({in.grad_fn(), in.output_nr()});
    }
    for (uint32_t i = 0; i < outputs.size(); ++i)
        if (is_floating(outputs[i].dtype())) outputs[i].set_grad_fn(node, i);
    return outputs;
}

}  // namespace marrow::autograd
