#include "autograd/engine.h"

#include <map>
#include <queue>
#include <unordered_map>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/factory.h"
#include "tensor/ops/elementwise.h"

namespace marrow::autograd {
namespace {

// Gradient buffers per node, one slot per node output; the engine alone sums into them.
struct Buffer {
    Grads slots;
};

void accumulate(Buffer& buffer, uint32_t slot, const Tensor& g, uint32_t num_outputs) {
    if (buffer.slots.empty()) buffer.slots.resize(num_outputs);
    std::optional<Tensor>& s = buffer.slots[slot];
    s = s ? op::binary(BinaryOp::add, *s, g) : g;
}

}  // namespace

void backward(const std::vector<Tensor>& roots, const std::vector<std::optional<Tensor>>& grads,
              bool retain_graph) {
    MARROW_CHECK(roots.size() == grads.size(), "backward: {} roots but {} gradients", roots.size(),
                 grads.size());
    NoGradGuard no_grad;
    std::unordered_map<Node*, Buffer> buffers;
    std::unordered_map<Node*, int> dependencies;
    std::vector<std::shared_ptr<Node>> starts;

    for (size_t i = 0; i < roots.size(); ++i) {
        const Tensor& root = roots[i];
        MARROW_CHECK(root.requires_grad(),
                     "backward: tensor {} of shape {} does not require grad and has no grad_fn", i,
                     root.shape());
        Tensor g = grads[i] ? *grads[i] : ones_like(root);
        if (!grads[i])
            MARROW_CHECK(root.numel() == 1,
                         "backward: grad can be implicitly created only for one-element outputs; "
                         "tensor of shape {} needs an explicit gradient",
                         root.shape());
        MARROW_CHECK(g.shape() == root.shape(),
                     "backward: gradient shape {} does not match tensor shape {}", g.shape(),
                     root.shape());
        MARROW_CHECK(g.dtype() == root.dtype(),
                     "backward: gradient dtype {} does not match tensor dtype {} (shape {}); "
                     "convert it with to(gradient, {})",
                     g.dtype(), root.dtype(), root.shape(), root.dtype());
        MARROW_CHECK(g.device() == root.device(),
                     "backward: gradient on {} but the tensor is on {} (shape {}); move it with "
                     "to(gradient, {})",
                     g.device(), root.device(), root.shape(), root.device());
        std::shared_ptr<Node> node =
            root.is_leaf() ? std::make_shared<AccumulateGrad>(root) : root.grad_fn();
        accumulate(buffers[node.get()], root.output_nr(), g, node->num_outputs);
        starts.push_back(node);
    }

    // Count, for every reachable node, how many edges point at it.
    std::vector<Node*> stack;
    std::unordered_map<Node*, bool> seen;
    for (auto& s : starts)
        if (!seen[s.get()]) {
            seen[s.get()] = true;
            stack.push_back(s.get());
        }
    while (!stack.empty()) {
        Node* n = stack.back();
        stack.pop_back();
        for (const Edge& e : n->next_edges) {
            if (!e.node) continue;
            dependencies[e.node.get()]++;
            if (!seen[e.node.get()]) {
                seen[e.node.get()] = true;
                stack.push_back(e.node.get());
            }
        }
    }

    auto later_first = [](const std::shared_ptr<Node>& a, const std::shared_ptr<Node>& b) {
        return a->sequence_nr() < b->sequence_nr();
    };
    std::priority_queue<std::shared_ptr<Node>, std::vector<std::shared_ptr<Node>>,
                        decltype(later_first)>
        ready(later_first);
    std::unordered_map<Node*, bool> queued;
    for (auto& s : starts)
        if (dependencies[s.get()] == 0 && !queued[s.get()]) {
            queued[s.get()] = true;
            ready.push(s);
        }

    while (!ready.empty()) {
        std::shared_ptr<Node> node = ready.top();
        ready.pop();
        Grads in = std::move(buffers[node.get()].slots);
        buffers.erase(node.get());
        in.resize(node->num_outputs);
        bool any = false;
        for (const auto& g : in) any |= g.has_value();
        Grads out;
        if (any) {
            for (size_t i = 0; i < in.size(); ++i)
                if (!in[i])
                    in[i] = zeros(node->output_shapes[i], node->output_dtype, node->output_device);
            out = node->apply(std::move(in));
        }
        if (!retain_graph) node->release();
        MARROW_CHECK(out.size() == node->next_edges.size() || out.empty(),
                     "backward of {} returned {} gradients for {} inputs", node->describe(),
                     out.size(), node->next_edges.size());
        for (size_t i = 0; i < node->next_edges.size(); ++i) {
            const Edge& e = node->next_edges[i];
            if (!e.node) continue;
            if (i < out.size() && out[i]) {
                const Tensor& g = *out[i];
                MARROW_CHECK(g.shape() == node->input_shapes[i],
                             "backward of {} returned a gradient of shape {} for input {} of "
                             "shape {}",
                             node->describe(), g.shape(), i, node->input_shapes[i]);
                if (anomaly_enabled())
                    check_finite(g, fmt::format("the gradient for input {} returned by the "
                                                "backward of {}",
                                                i, node->describe()));
                accumulate(buffers[e.node.get()], e.input_nr, g, e.node->num_outputs);
            }
            if (--dependencies[e.node.get()] == 0) ready.push(e.node);
        }
    }
}

}  // namespace marrow::autograd

namespace marrow {

void Tensor::backward(std::optional<Tensor> gradient, bool retain_graph) const {
    autograd::backward({*this}, {std::move(gradient)}, retain_graph);
}

}  // namespace marrow
