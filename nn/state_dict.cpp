#include "nn/state_dict.h"

#include <fmt/format.h>

#include "autograd/ops.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace marrow::nn {

void StateDict::insert(const std::string& key, Tensor tensor) {
    auto [it, added] = index_.emplace(key, items_.size());
    if (added)
        items_.emplace_back(key, std::move(tensor));
    else
        items_[it->second].second = std::move(tensor);
}

const Tensor* StateDict::find(const std::string& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
}

const Tensor& StateDict::at(const std::string& key) const {
    if (const Tensor* t = find(key)) return *t;
    // A near miss is usually a prefix ("module.", "backbone.") or a suffix away.
    for (const auto& [k, t] : items_)
        if (k.ends_with("." + key) || key.ends_with("." + k))
            fail("state dict has no key '{}' (it has '{}': strip or add a prefix?)", key, k);
    fail("state dict has no key '{}' ({} keys)", key, items_.size());
}

void StateDict::erase(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    items_.erase(items_.begin() + std::ptrdiff_t(it->second));
    index_.clear();
    for (size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
}

std::vector<std::string> StateDict::keys() const {
    std::vector<std::string> out;
    for (const auto& item : items_) out.push_back(item.first);
    return out;
}

StateDict rename_keys(const StateDict& dict,
                      const std::function<std::optional<std::string>(const std::string&)>& rule) {
    StateDict out;
    std::unordered_map<std::string, std::string> source;  // new key -> old key
    for (const auto& [key, tensor] : dict) {
        std::optional<std::string> renamed = rule(key);
        if (!renamed) continue;
        auto [it, added] = source.emplace(*renamed, key);
        if (!added)
            fail("renaming state dict keys: '{}' and '{}' both become '{}'", it->second, key,
                 *renamed);
        out.insert(*renamed, tensor);
    }
    return out;
}

StateDict select_prefix(const StateDict& dict, const std::string& prefix) {
    return rename_keys(dict, [&](const std::string& key) -> std::optional<std::string> {
        if (!key.starts_with(prefix)) return std::nullopt;
        return key.substr(prefix.size());
    });
}

StateDict strip_prefix(const StateDict& dict, const std::string& prefix) {
    return rename_keys(dict, [&](const std::string& key) -> std::optional<std::string> {
        return key.starts_with(prefix) ? key.substr(prefix.size()) : key;
    });
}

void save_state_dict_file(const std::string& path, const StateDict& dict,
                          const std::map<std::string, std::string>& metadata) {
    std::map<std::string, Tensor> tensors;
    for (const auto& [key, tensor] : dict)
        tensors.emplace(key, contiguous(to(detach(tensor), Device::cpu())));
    save_safetensors(path, tensors, metadata);
}

StateDict load_state_dict_file(const std::string& path, const PthOptions& pth) {
    StateDict out;
    if (is_pth_file(path)) {
        for (auto& [key, tensor] : flatten_tensors(read_pth(path, pth))) out.insert(key, tensor);
        return out;
    }
    for (auto& [key, tensor] : load_safetensors(path).tensors) out.insert(key, tensor);
    return out;
}

}  // namespace marrow::nn
