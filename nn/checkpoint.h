// Training checkpoints: everything a run needs to continue bit-identically after a restart,
// in one safetensors file (PyTorch can read its tensors), written atomically (temp file,
// fsync, rename, fsync of the folder), the last K kept.
//
//   nn::Checkpoint ck;
//   ck.sections["model"] = model.state_dict();
//   ck.sections["optimizer"] = opt.state_dict();
//   ck.meta = {{"step", step}, {"rng", ...}, {"loader", ...}, {"schedule", ...}};
//   nn::CheckpointDir dir(out / "checkpoints", /*keep_last=*/3);
//   dir.save(step, ck);                                       // checkpoint_00001200.safetensors
//   if (auto path = dir.latest()) ck = nn::load_checkpoint(*path);
//
// In the file a section's tensors are keyed "<section>/<key>" ("model/layer1.0.conv1.weight");
// the metadata entry "marrow.checkpoint" holds the sections' names and `meta` as JSON.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nn/state_dict.h"

namespace marrow::nn {

struct Checkpoint {
    std::map<std::string, StateDict> sections;  // "model", "optimizer", "ema", ...
    nlohmann::json meta = nlohmann::json::object();

    // The section, or an Error naming the file it came from and the sections it has.
    const StateDict& section(const std::string& name) const;
    std::string source;  // the path it was loaded from ("" when built in memory)
};

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);
// An Error naming the file when it is not a marrow checkpoint (no "marrow.checkpoint"
// metadata: e.g. a plain weights file) or when a tensor's key has no known section.
Checkpoint load_checkpoint(const std::filesystem::path& path);

// A folder of checkpoint_<step>.safetensors files, the newest `keep_last` kept.
class CheckpointDir {
public:
    explicit CheckpointDir(std::filesystem::path dir, int keep_last = 3);
    std::filesystem::path save(int64_t step, const Checkpoint& checkpoint);
    // The highest step's file, if any.
    std::optional<std::filesystem::path> latest() const;
    // (step, path), oldest first.
    std::vector<std::pair<int64_t, std::filesystem::path>> list() const;

private:
    std::filesystem::path dir_;
    int keep_last_;
};

}  // namespace marrow::nn
