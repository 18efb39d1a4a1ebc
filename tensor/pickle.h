// A restricted unpickler for PyTorch state dicts: pickle bytes -> a tree of plain values and
// tensors, with PyTorch's `weights_only=True` stance (torch/_weights_only_unpickler.py). It
// never imports or calls anything: GLOBAL names are looked up in a fixed allow list
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter, the
// torch.*Storage types, torch.Size, torch dtypes), and every other global is refused with an
// Error naming it ("refusing to load global posix.system in x.pth/data.pkl: ..."), or, with
// `skip_unknown_globals`, replaced by an opaque placeholder that records the name (DINO's
// `args: argparse.Namespace`) and is listed in `Document::skipped_globals`.
//
// Opcodes: those torch.save writes (protocol 2) plus protocol 3-5's framing, short strings,
// bytes and memoize, so pickles written by any Python 3 torch load. Storages come from the
// caller (`persistent_load`: the zip records or the legacy format's trailing blobs); this
// file knows no containers. Bad bytes are an Error naming `name` and the byte offset: stack
// underflow, a bad memo index, a truncated argument, an unknown opcode, a string longer than
// the input. Nothing is allocated that the input's size does not bound.
//
// Values live in an arena owned by the Document (children are plain pointers), so a self-
// referencing list or a 500,000-deep nesting costs no recursion to destroy; walkers bound
// their depth (kMaxDepth).
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::pickle {

enum class Kind : uint8_t {
    none,
    boolean,
    integer,
    floating,
    string,
    bytes,
    list,
    tuple,
    dict,
    set,
    global,   // an allowed GLOBAL (a function or class), `text` = "module.name"
    opaque,   // skip_unknown_globals: an unknown global or what was built from it; `text` = name
    storage,  // a persistent_load result: bytes + element type
    tensor,
};

struct Value {
    Kind kind = Kind::none;
    bool boolean = false;
    int64_t integer = 0;
    double floating = 0;
    std::string text;                                   // string, bytes, global / opaque name
    std::vector<Value*> items;                          // list, tuple, set
    std::vector<std::pair<Value*, Value*>> entries;     // dict, in insertion order
    std::unordered_map<std::string, size_t> key_index;  // dict: str/int key -> entry
    std::shared_ptr<Storage> storage;                   // storage
    DType dtype = DType::f32;                           // storage
    std::optional<Tensor> tensor;                       // tensor
};

// Owns every Value of one unpickling.
struct Document {
    std::deque<Value> arena;
    Value* root = nullptr;
    std::vector<std::string> skipped_globals;  // distinct names, in order of appearance
    Value* make(Kind kind) {
        arena.emplace_back();
        arena.back().kind = kind;
        return &arena.back();
    }
};

constexpr int kMaxDepth = 256;  // nesting limit of tree walks (a state dict nests < 10)

struct Options {
    bool skip_unknown_globals = false;
};

// Resolves a BINPERSID tuple ('storage', storage_type, key, location, numel[, view]) to a
// Kind::storage value (made in `doc`); throws an Error naming what is wrong.
using PersistentLoad = std::function<Value*(Document& doc, const Value& pid)>;

// Unpickles `bytes` into `doc` (root set on STOP). `name` is used in error messages
// ("x.pth/data.pkl"). `end_offset`, if given, receives the offset just past STOP (the
// legacy format has several pickles back to back).
void unpickle(std::string_view bytes, const std::string& name, const Options& options,
              const PersistentLoad& persistent_load, Document& doc, size_t* end_offset = nullptr);

// The storage element type of a global like "torch.FloatStorage", or nullopt when it is not
// one. int8/int16 storages (ShortStorage, CharStorage) report i32: marrow has no 8/16-bit
// integer dtype, and the caller widens their bytes (`widen_into`).
struct StorageType {
    DType dtype;
    int element_size;  // bytes per element in the file (2 for ShortStorage)
    bool is_signed_narrow = false;
};
std::optional<StorageType> storage_type(std::string_view global_name);
// Converts `numel` int8/int16 elements (little endian, `element_size` 1 or 2) to int32.
void widen_into(int32_t* dst, const void* src, int64_t numel, int element_size);

// Printable kind name ("dict", "tensor") for messages.
std::string_view kind_name(Kind kind);

}  // namespace marrow::pickle
