// PyTorch checkpoints (`torch.save`) without Python: the zip container (torch >= 1.6, read
// with libzip) and the legacy stream (`_use_new_zipfile_serialization=False`), unpickled by
// the restricted unpickler (tensor/pickle.h: PyTorch's weights_only=True stance, nothing is
// ever imported or called).
//
//   zip:     <archive>/data.pkl           the pickle; tensors are _rebuild_tensor_v2 calls on
//            <archive>/data/<key>         persistent ids ('storage', torch.FloatStorage, key,
//            <archive>/version, ...       location, numel): one raw little-endian record each
//   legacy:  pickles of the magic number, the protocol version (1001) and sys_info, the main
//            pickle, the list of storage keys, then per key an int64 numel and the raw bytes.
//
// Each storage is read once, when the pickle first names it; tensors are views of it (shared
// storages and transposed or offset views stay views, as torch.load makes them). int8/int16
// storages are widened to int32 (marrow has no narrower integers); locations ("cuda:0") are
// ignored: everything loads to the CPU (map_location="cpu").
//
// Every failure is an Error naming the file and what is wrong: a missing file, not a zip, a
// truncated or corrupt archive, no data.pkl, a missing storage record, a record smaller than
// its numel, a view that does not fit its storage, bad pickle bytes, a refused global. Sizes
// from the file are checked against the archive's record sizes before anything is allocated.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/pickle.h"
#include "tensor/tensor.h"

namespace marrow {

struct PthOptions {
    // Unknown globals (argparse.Namespace in DINO's checkpoints) become opaque placeholders
    // instead of an error; their names are listed in PthFile::skipped_globals. Nothing of them
    // is run or kept.
    bool skip_unknown_globals = false;
};

struct PthFile {
    std::string path;
    bool legacy = false;                         // the pre-1.6 stream format
    std::shared_ptr<pickle::Document> document;  // owns the tree
    const pickle::Value& root() const { return *document->root; }
    const std::vector<std::string>& skipped_globals() const { return document->skipped_globals; }
};

PthFile read_pth(const std::string& path, const PthOptions& options = {});
// An in-memory file image (zip or legacy); `name` is used in messages (tests, the fuzzer).
PthFile parse_pth(const std::string& bytes, const std::string& name,
                  const PthOptions& options = {});

// Every tensor of the tree under a dotted key, in the file's order: dict keys (str or int)
// and list/tuple indices joined by '.' ({"teacher": {"backbone.norm.weight": t}} ->
// "teacher.backbone.norm.weight"); a bare tensor gets the key "". Non-tensor leaves (epoch,
// lr, skipped objects) are left out.
std::vector<std::pair<std::string, Tensor>> flatten_tensors(const PthFile& file);
std::map<std::string, Tensor> load_pth(const std::string& path, const PthOptions& options = {});

// Whether the file starts like a torch.save file (a zip, or the legacy magic-number pickle).
bool is_pth_file(const std::string& path);

}  // namespace marrow
