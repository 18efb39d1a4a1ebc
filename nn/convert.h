// Checkpoint conversion, the logic of apps/convert: a PyTorch .pth (or safetensors) file ->
// the part of it a model wants, under the model's keys -> safetensors. DINO's training
// checkpoints nest {"teacher": {"backbone.blocks.0...": ...}, "student": ..., "args": ...};
// DistributedDataParallel adds "module.":
//
//   ConvertOptions o{.select = "teacher", .strip_prefixes = {"module.", "backbone."}};
//   ConvertResult r = convert_checkpoint("checkpoint.pth", "vit_small.safetensors", o);
//   std::fputs(format_key_table(r.dict).c_str(), stdout);
#pragma once
#include <string>
#include <vector>

#include "nn/state_dict.h"

namespace marrow::nn {

struct ConvertOptions {
    std::string select;                       // keep "<select>." keys, prefix removed ("" all)
    std::vector<std::string> strip_prefixes;  // then each removed where it leads, in order
    bool skip_unknown_globals = false;        // PthOptions: skip argparse.Namespace & co
};

struct ConvertResult {
    StateDict dict;
    std::vector<std::string> skipped_globals;  // what skip_unknown_globals left out
};

// Loads `in` and applies select then strip_prefixes. An Error when `select` matches no key
// (naming the top-level prefixes there are) or nothing is left.
ConvertResult read_checkpoint(const std::string& in, const ConvertOptions& options);
// read_checkpoint, then the dict written to `out` as safetensors (temp file + rename).
ConvertResult convert_checkpoint(const std::string& in, const std::string& out,
                                 const ConvertOptions& options);
// One line per key (key, dtype, shape, bytes) and a totals line: tensors, elements, bytes.
std::string format_key_table(const StateDict& dict);

}  // namespace marrow::nn
