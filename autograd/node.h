// Graph nodes. Every differentiable op that sees an input requiring grad (in grad mode)
// records one Node: its name, a sequence number, the scope it was created in, an edge per
// input (to the input's producer, or to an AccumulateGrad for a leaf), the input shapes (so
// the engine can check every gradient a backward returns), and a backward closure holding
// the SavedTensors it needs.
//
// Note [Gradients only where needed]
// A backward closure receives which of its inputs need a gradient (`NeedsGrad`: an input
// needs one when it required grad at record time) and computes only those: mm with a frozen
// weight, or with input images, runs one GEMM instead of two. Likewise an op saves a tensor
// only if a gradient that reads it will be computed (`save_if`), and saves the smallest set
// its formulas read (unary ops save x or y, never both): the graph holds what backward
// reads, nothing more. saved_tensor_bytes() measures it.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::autograd {

class Node;
using Grads = std::vector<std::optional<Tensor>>;

struct Edge {
    std::shared_ptr<Node> node;  // null: that input needs no gradient
    uint32_t input_nr = 0;       // which output slot of `node` receives the gradient
};

class Node {
public:
    explicit Node(std::string name);
    virtual ~Node() = default;
    // grad_outputs[i] = dL/d(output i) (nullopt: no gradient reached it); returns dL/d(input).
    virtual Grads apply(Grads&& grad_outputs) = 0;
    // Frees saved tensors after a backward without retain_graph.
    virtual void release() {}

    const std::string& name() const { return name_; }
    uint64_t sequence_nr() const { return sequence_nr_; }
    const std::string& scope() const { return scope_; }
    // "`log` (op #12 in scope encoder/block1)": used by every error about this node.
    std::string describe() const;

    std::vector<Edge> next_edges;
    std::vector<Shape> input_shapes;
    uint32_t num_outputs = 1;
    // Outputs that received no gradient get zeros of this shape/dtype when another output of
    // the node did, so backward closures always see every grad_output.
    std::vector<Shape> output_shapes;
    DType output_dtype = DType::f32;
    Device output_device;

private:
    std::string name_;
    uint64_t sequence_nr_;
    std::string scope_;
};

// A tensor saved for backward, with the version it had when saved (Note [Version counter]).
// get() throws if it was modified in place since, naming the op that saved it, or if nothing
// was saved (a default-constructed SavedTensor: see save_if). Copies share one entry, so a
// closure copied into a node does not count twice in saved_tensor_bytes().
class SavedTensor {
public:
    SavedTensor() = default;
    SavedTensor(const Tensor& t, const char* op);
    const Tensor& get() const;
    bool defined() const { return entry_ != nullptr; }

private:
    struct Entry;
    std::shared_ptr<const Entry> entry_;
};

// t saved when `needed` (the gradient that reads it will be computed), else nothing.
SavedTensor save_if(bool needed, const Tensor& t, const char* op);
// Grad mode is on and t requires grad: an op recorded now will be asked for t's gradient.
bool needs_grad(const Tensor& t);
// Bytes of all live saved tensors (the sum of their views' sizes; views sharing storage
// count once each): the activation memory graphs keep for backward.
int64_t saved_tensor_bytes();

// Which inputs of a node need a gradient (the others have no edge; their gradients are
// neither computed nor used).
class NeedsGrad {
public:
    explicit NeedsGrad(std::vector<bool> needs) : needs_(std::move(needs)) {}
    bool operator[](size_t input) const { return needs_[input]; }
    size_t size() const { return needs_.size(); }

private:
    std::vector<bool> needs_;
};

// The node type every op uses: the backward is a closure.
using BackwardFn = std::function<Grads(const Grads& grad_outputs, const NeedsGrad& needs)>;
class FunctionNode final : public Node {
public:
    FunctionNode(std::string name, BackwardFn fn) : Node(std::move(name)), fn_(std::move(fn)) {}
    Grads apply(Grads&& grad_outputs) override;
    void release() override { fn_ = nullptr; }

private:
    BackwardFn fn_;
};

// Sink for a leaf: adds the gradient into leaf.grad (the only place gradients accumulate).
class AccumulateGrad final : public Node {
public:
    explicit AccumulateGrad(Tensor leaf);
    Grads apply(Grads&& grad_outputs) override;

private:
    Tensor leaf_;
};

bool any_requires_grad(const std::vector<Tensor>& inputs);

// Records `name` producing `outputs` from `inputs` when grad mode is on and an input requires
// grad; checks outputs for NaN/Inf in anomaly mode. Returns the outputs (an output that is
// the same handle as an input is replaced by an alias, so the input's history is untouched).
// `backward` is called as backward(grads, needs), or backward(grads) when the op has one
// differentiable input (it is only ever called when that input needs its gradient).
std::vector<Tensor> record_node(const char* name, const std::vector<Tensor>& inputs,
                                std::vector<Tensor> outputs, BackwardFn backward);

template <typename F>
BackwardFn as_backward_fn(F&& f) {
    if constexpr (std::is_invocable_v<F&, const Grads&, const NeedsGrad&>) {
        return BackwardFn(std::forward<F>(f));
    } else {
        return [f = std::forward<F>(f)](const Grads& g, const NeedsGrad&) { return f(g); };
    }
}
template <typename F>
std::vector<Tensor> record(const char* name, const std::vector<Tensor>& inputs,
                           std::vector<Tensor> outputs, F&& backward) {
    return record_node(name, inputs, std::move(outputs), as_backward_fn(std::forward<F>(backward)));
}
template <typename F>
Tensor record(const char* name, const std::vector<Tensor>& inputs, Tensor output, F&& backward) {
    return record_node(name, inputs, std::vector<Tensor>{std::move(output)},
                       as_backward_fn(std::forward<F>(backward)))[0];
}

// Anomaly check shared by forward and backward: throws if t holds NaN or Inf.
void check_finite(const Tensor& t, const std::string& what);

}  // namespace marrow::autograd
