// State dicts: tensors under PyTorch's dotted keys, in insertion order (a module's state_dict
// lists them as PyTorch does), with the key surgery published checkpoints need and
// safetensors files that PyTorch's `safetensors.torch.load_file` reads.
//
//   StateDict sd = nn::load_state_dict_file("dino_resnet50.safetensors");   // or a .pth
//   sd = nn::select_prefix(sd, "teacher.");       // DINO's teacher weights
//   sd = nn::strip_prefix(sd, "module.");         // DistributedDataParallel's wrapper
//   sd = nn::strip_prefix(sd, "backbone.");
//   LoadResult r = model.load_state_dict(sd, /*strict=*/false);   // the head is not there
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tensor/pth.h"
#include "tensor/tensor.h"

namespace marrow::nn {

class StateDict {
public:
    // Adds `key`, or replaces its tensor in place of the old entry (the order is kept).
    void insert(const std::string& key, Tensor tensor);
    bool contains(const std::string& key) const { return index_.count(key) != 0; }
    // The tensor under `key`; an Error naming the key (and a close one, if any) otherwise.
    const Tensor& at(const std::string& key) const;
    const Tensor* find(const std::string& key) const;
    void erase(const std::string& key);
    size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }
    std::vector<std::string> keys() const;
    auto begin() const { return items_.begin(); }
    auto end() const { return items_.end(); }

private:
    std::vector<std::pair<std::string, Tensor>> items_;
    std::unordered_map<std::string, size_t> index_;
};

// The keys that start with `prefix`, with it removed ("teacher." -> the teacher's weights).
StateDict select_prefix(const StateDict& dict, const std::string& prefix);
// Every key with a leading `prefix` removed, the others kept as they are (PyTorch's
// consume_prefix_in_state_dict_if_present).
StateDict strip_prefix(const StateDict& dict, const std::string& prefix);
// Each key through `rule`: a new key, or nullopt to drop the entry. Two keys renamed to one
// are an Error naming both.
StateDict rename_keys(const StateDict& dict,
                      const std::function<std::optional<std::string>(const std::string&)>& rule);

// safetensors with the dict's keys (copied to the CPU and made contiguous first); written to
// a temp file and renamed, so an existing file survives a failed write.
void save_state_dict_file(const std::string& path, const StateDict& dict,
                          const std::map<std::string, std::string>& metadata = {});
// A safetensors file, or a PyTorch .pth (zip or legacy, told apart by its first bytes;
// tensor/pth.h): every tensor of the .pth's tree under its dotted key, in the file's order
// ({"teacher": {...}} -> "teacher.backbone..."; pick a part with select_prefix).
StateDict load_state_dict_file(const std::string& path, const PthOptions& pth = {});

}  // namespace marrow::nn
