// Graph nodes. Every differentiable op that sees an input requiring grad (in grad mode)
// records one Node: its name, a sequence number, the scope it was created in, an edge per
// input (to the input's producer, or to an AccumulateGrad for a leaf), the input shapes (so
// the engine can check every gradient a backward returns), and a backward closure holding
// the SavedTensors it needs.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
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
// get() throws if it was modified in place since, naming the op that saved it.
class SavedTensor {
public:
    SavedTensor(const Tensor& t, const char* op)
        : tensor_(t.alias()), version_(t.version()), op_(op) {}
    const Tensor& get() const;

private:
    Tensor tensor_;
    uint64_t version_;
    const char* op_;
};

// The node type every op uses: the backward is a closure.
using BackwardFn = std::function<Grads(const Grads& grad_outputs)>;
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
std::vector<Tensor> record(const char* name, const std::vector<Tensor>& inputs,
                           std::vector<Tensor> outputs, BackwardFn backward);
Tensor record(const char* name, const std::vector<Tensor>& inputs, Tensor output,
              BackwardFn backward);

// Anomaly check shared by forward and backward: throws if t holds NaN or Inf.
void check_finite(const Tensor& t, const std::string& what);

}  // namespace marrow::autograd
