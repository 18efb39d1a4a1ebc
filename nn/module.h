// The module system: parameters, buffers and submodules under dotted names that are PyTorch's
// state_dict keys, so a torchvision or DINO checkpoint loads by key and a PyTorch user finds
// the same names (`layer1.0.conv1.weight`, `bn1.running_mean`, `bn1.num_batches_tracked`).
//
//   class Block : public nn::Layer {
//   public:
//       Block(int64_t c) : Layer("Block") {
//           conv = register_module("conv", std::make_shared<nn::Conv2d>(c, c, 3, ...));
//           bn = register_module("bn", std::make_shared<nn::BatchNorm2d>(c));
//       }
//       Tensor forward(const Tensor& x) override { return relu(bn->forward(conv->forward(x))); }
//   private:
//       std::shared_ptr<nn::Conv2d> conv;
//       std::shared_ptr<nn::BatchNorm2d> bn;
//   };
//
// A layer keeps Tensor handles to what it registered and reads them in forward; the module
// holds the same handles under their names. Everything that changes a parameter keeps the
// handle: to(device/dtype) replaces its data in place (Tensor::set_data, PyTorch's
// `param.data = ...`) and load_state_dict copies into it, so an optimizer built before either
// still updates the model's tensors.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/state_dict.h"
#include "tensor/tensor.h"

namespace marrow::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module;
using NamedModules = std::vector<std::pair<std::string, Module*>>;

// What load_state_dict found besides matching keys; strict mode throws one error listing all.
struct LoadResult {
    struct Mismatch {
        std::string key;
        Shape expected;  // the module's
        Shape got;       // the dict's
    };
    std::vector<std::string> missing;     // in the module, not in the dict
    std::vector<std::string> unexpected;  // in the dict, not in the module
    std::vector<Mismatch> mismatched;     // in both with different shapes (left unloaded)
    bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    std::string to_string() const;  // every key, one line per kind, as PyTorch's error
};

class Module {
public:
    explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    // ---- what the module holds, in registration order; names are dotted paths
    NamedTensors named_parameters(bool recurse = true) const;
    NamedTensors named_buffers(bool recurse = true) const;
    // Every module of the tree, itself first under "", then depth-first ("layer1", "layer1.0").
    NamedModules named_modules();
    std::vector<Tensor> parameters(bool recurse = true) const;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const {
        return children_;
    }
    // The submodule at a dotted path ("layer1.0.conv1"); an Error naming the path otherwise.
    Module& submodule(const std::string& path);

    // ---- modes and conversions (recursive)
    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }
    // Moves parameters and buffers (and gradients) to `device`; to(dtype) converts the
    // floating ones only (num_batches_tracked stays int64), as nn.Module.to does.
    Module& to(Device device);
    Module& to(DType dtype);
    void zero_grad();
    // Freezes (false) or unfreezes every parameter.
    void requires_grad_(bool value);

    // ---- checkpoints
    // Parameters and persistent buffers under their keys (handles, not copies: save it, or
    // clone it to keep a snapshot).
    StateDict state_dict() const;
    // Copies matching keys into the module's tensors (converting dtype and device as
    // PyTorch's copy_ does). strict: any missing, unexpected or mis-shaped key throws one
    // Error listing every one of them, before anything is copied. Not strict: the matching
    // keys are loaded and the rest returned.
    LoadResult load_state_dict(const StateDict& dict, bool strict = true);

    // PyTorch's printed form: `ResNet(\n  (conv1): Conv2d(3, 64, kernel_size=(7, 7), ...)`.
    std::string to_string() const;
    const std::string& type_name() const { return type_name_; }

protected:
    // The layer's own arguments for to_string (PyTorch's extra_repr), e.g. "3, 64, bias=False".
    virtual std::string extra_repr() const { return ""; }

    // Registration, from constructors. A parameter becomes a leaf that requires grad. A
    // non-persistent buffer moves with the module but is not in state_dict (PyTorch's
    // persistent=False). Names are unique within a module and contain no '.'.
    Tensor register_parameter(const std::string& name, Tensor value);
    Tensor register_buffer(const std::string& name, Tensor value, bool persistent = true);
    template <typename M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
        add_child(name, module);
        return module;
    }
    // Replaces a registered submodule (e.g. a model's `fc` by Identity); the old one is
    // dropped from the tree. Layers that hold a handle to it must update theirs.
    void replace_child(const std::string& name, std::shared_ptr<Module> module);

private:
    struct Entry {
        std::string name;
        Tensor tensor;
        bool persistent = true;
    };
    void add_child(const std::string& name, std::shared_ptr<Module> module);
    void check_new_name(const std::string& name) const;
    // Calls fn(full name, entry) for every parameter (or buffer) of the tree.
    void visit(bool parameters, bool recurse, const std::string& prefix,
               const std::function<void(const std::string&, const Entry&)>& fn) const;
    void apply_to_tensors(const std::function<Tensor(const Tensor&)>& convert);

    std::string type_name_;
    bool training_ = true;
    std::vector<Entry> parameters_;
    std::vector<Entry> buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// A module with one tensor in and one out: what Sequential chains and models expose.
class Layer : public Module {
public:
    using Module::Module;
    virtual Tensor forward(const Tensor& x) = 0;
    Tensor operator()(const Tensor& x) { return forward(x); }
};

// Layers applied in order, registered as "0", "1", ... (nn.Sequential's keys).
class Sequential : public Layer {
public:
    Sequential() : Layer("Sequential") {}
    explicit Sequential(std::vector<std::shared_ptr<Layer>> layers);
    void push_back(std::shared_ptr<Layer> layer);
    Tensor forward(const Tensor& x) override;
    size_t size() const { return layers_.size(); }
    Layer& operator[](size_t i) const { return *layers_.at(i); }

private:
    std::vector<std::shared_ptr<Layer>> layers_;
};

// Modules held under "0", "1", ... with no forward of their own (nn.ModuleList).
class ModuleList : public Module {
public:
    ModuleList() : Module("ModuleList") {}
    void push_back(std::shared_ptr<Module> module);
    size_t size() const { return modules_.size(); }
    Module& operator[](size_t i) const { return *modules_.at(i); }

private:
    std::vector<std::shared_ptr<Module>> modules_;
};

}  // namespace marrow::nn
