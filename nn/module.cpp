#include "nn/module.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tensor/error.h"

namespace marrow::nn {

// ---- registration

void Module::check_new_name(const std::string& name) const {
    MARROW_CHECK(!name.empty() && name.find('.') == std::string::npos,
                 "{}: '{}' is not a valid name for a parameter, buffer or submodule (non-empty, "
                 "no '.')",
                 type_name_, name);
    auto taken = [&](const auto& list) {
        return std::any_of(list.begin(), list.end(),
                           [&](const auto& e) { return e.name == name; });
    };
    bool child = std::any_of(children_.begin(), children_.end(),
                             [&](const auto& c) { return c.first == name; });
    MARROW_CHECK(!taken(parameters_) && !taken(buffers_) && !child,
                 "{}: '{}' is already registered", type_name_, name);
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
    check_new_name(name);
    MARROW_CHECK(is_floating(value.dtype()), "{}: parameter '{}' must be floating, got {}",
                 type_name_, name, value.dtype());
    Tensor leaf = value.is_leaf() ? value : value.detach();
    leaf.requires_grad_(true);
    parameters_.push_back({name, leaf, true});
    return leaf;
}

Tensor Module::register_buffer(const std::string& name, Tensor value, bool persistent) {
    check_new_name(name);
    buffers_.push_back({name, value.detach(), persistent});
    return buffers_.back().tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
    check_new_name(name);
    MARROW_CHECK(module != nullptr, "{}: submodule '{}' is null", type_name_, name);
    children_.emplace_back(name, std::move(module));
}

void Module::replace_child(const std::string& name, std::shared_ptr<Module> module) {
    MARROW_CHECK(module != nullptr, "{}: submodule '{}' is null", type_name_, name);
    for (auto& [n, child] : children_)
        if (n == name) {
            child = std::move(module);
            return;
        }
    fail("{}: no submodule '{}' to replace", type_name_, name);
}

// ---- traversal

void Module::visit(bool parameters, bool recurse, const std::string& prefix,
                   const std::function<void(const std::string&, const Entry&)>& fn) const {
    for (const Entry& e : parameters ? parameters_ : buffers_) fn(prefix + e.name, e);
    if (!recurse) return;
    for (const auto& [name, child] : children_)
        child->visit(parameters, true, prefix + name + ".", fn);
}

NamedTensors Module::named_parameters(bool recurse) const {
    NamedTensors out;
    visit(true, recurse, "", [&](const std::string& name, const Entry& e) {
        // A parameter shared by two modules (tied weights) is listed once, as in PyTorch.
        for (const auto& seen : out)
            if (seen.second.is_same(e.tensor)) return;
        out.emplace_back(name, e.tensor);
    });
    return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
    NamedTensors out;
    visit(false, recurse, "",
          [&](const std::string& name, const Entry& e) { out.emplace_back(name, e.tensor); });
    return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
    std::vector<Tensor> out;
    for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
    return out;
}

NamedModules Module::named_modules() {
    NamedModules out{{"", this}};
    for (const auto& [name, child] : children_)
        for (const auto& [sub, module] : child->named_modules())
            out.emplace_back(sub.empty() ? name : name + "." + sub, module);
    return out;
}

Module& Module::submodule(const std::string& path) {
    Module* m = this;
    size_t start = 0;
    while (start <= path.size()) {
        size_t dot = std::min(path.find('.', start), path.size());
        std::string part = path.substr(start, dot - start);
        auto it = std::find_if(m->children_.begin(), m->children_.end(),
                               [&](const auto& c) { return c.first == part; });
        if (it == m->children_.end())
            fail("{}: no submodule '{}' (at '{}')", type_name_, path, part);
        m = it->second.get();
        start = dot + 1;
    }
    return *m;
}

// ---- modes and conversions

void Module::train(bool on) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
}

void Module::apply_to_tensors(const std::function<Tensor(const Tensor&)>& convert) {
    autograd::NoGradGuard no_grad;
    for (Entry& e : parameters_) {
        std::optional<Tensor> grad;
        if (e.tensor.has_grad()) grad = convert(e.tensor.grad());
        e.tensor.set_data(convert(e.tensor.detach()));
        if (grad) e.tensor.set_grad(grad);
    }
    for (Entry& e : buffers_) e.tensor.set_data(convert(e.tensor));
    for (auto& [name, child] : children_) child->apply_to_tensors(convert);
}

Module& Module::to(Device device) {
    apply_to_tensors([&](const Tensor& t) { return marrow::to(t, device); });
    return *this;
}

Module& Module::to(DType dtype) {
    MARROW_CHECK(is_floating(dtype), "{}.to({}): modules convert to floating dtypes only",
                 type_name_, dtype);
    apply_to_tensors([&](const Tensor& t) { return is_floating(t.dtype()) ? marrow::to(t, dtype) : t; });
    return *this;
}

void Module::zero_grad() {
    for (Tensor& p : parameters()) p.zero_grad();
}

void Module::requires_grad_(bool value) {
    for (Tensor& p : parameters()) p.requires_grad_(value);
}

// ---- checkpoints

StateDict Module::state_dict() const {
    StateDict out;
    visit(true, true, "", [&](const std::string& name, const Entry& e) {
        out.insert(name, e.tensor.detach());
    });
    // PyTorch lists each module's parameters, then its buffers, module by module; the keys
    // are what matter for loading, and safetensors sorts them anyway.
    visit(false, true, "", [&](const std::string& name, const Entry& e) {
        if (e.persistent) out.insert(name, e.tensor);
    });
    return out;
}

std::string LoadResult::to_string() const {
    std::string out;
    auto quoted = [](const std::vector<std::string>& keys) {
        std::vector<std::string> q;
        for (const std::string& k : keys) q.push_back("\"" + k + "\"");
        return fmt::format("{}", fmt::join(q, ", "));
    };
    if (!missing.empty()) out += fmt::format("\n  Missing key(s): {}.", quoted(missing));
    if (!unexpected.empty()) out += fmt::format("\n  Unexpected key(s): {}.", quoted(unexpected));
    for (const Mismatch& m : mismatched)
        out += fmt::format("\n  size mismatch for {}: the checkpoint has shape {}, the model {}.",
                           m.key, m.got, m.expected);
    return out;
}

LoadResult Module::load_state_dict(const StateDict& dict, bool strict) {
    StateDict own = state_dict();
    LoadResult result;
    for (const auto& [key, tensor] : own) {
        const Tensor* given = dict.find(key);
        if (!given)
            result.missing.push_back(key);
        else if (given->shape() != tensor.shape())
            result.mismatched.push_back({key, tensor.shape(), given->shape()});
    }
    for (const auto& [key, tensor] : dict)
        if (!own.contains(key)) result.unexpected.push_back(key);
    if (strict && !result.ok())
        fail("Error(s) in loading state_dict for {}:{}", type_name_, result.to_string());
    autograd::NoGradGuard no_grad;
    for (const auto& [key, tensor] : own) {
        const Tensor* given = dict.find(key);
        if (given && given->shape() == tensor.shape()) copy_(tensor, *given);
    }
    return result;
}

// ---- printing

std::string Module::to_string() const {
    std::string extra = extra_repr();
    if (children_.empty()) return type_name_ + "(" + extra + ")";
    std::string out = type_name_ + "(";
    if (!extra.empty()) out += "\n  " + extra;
    for (const auto& [name, child] : children_) {
        std::string inner = child->to_string();
        std::string indented;
        for (char c : inner) indented += c == '\n' ? std::string("\n  ") : std::string(1, c);
        out += "\n  (" + name + "): " + indented;
    }
    return out + "\n)";
}

// ---- containers

Sequential::Sequential(std::vector<std::shared_ptr<Layer>> layers) : Layer("Sequential") {
    for (auto& layer : layers) push_back(std::move(layer));
}

void Sequential::push_back(std::shared_ptr<Layer> layer) {
    layers_.push_back(register_module(std::to_string(layers_.size()), std::move(layer)));
}

Tensor Sequential::forward(const Tensor& x) {
    Tensor y = x;
    for (auto& layer : layers_) y = layer->forward(y);
    return y;
}

void ModuleList::push_back(std::shared_ptr<Module> module) {
    modules_.push_back(register_module(std::to_string(modules_.size()), std::move(module)));
}

}  // namespace marrow::nn
