// The restricted unpickler (tensor/pickle.h). Opcode meanings follow CPython's Lib/pickle.py
// (`_Unpickler.load_*`); which globals and what BUILD may touch follow PyTorch's
// torch/_weights_only_unpickler.py.
#include "tensor/pickle.h"

#include <cstring>
#include <unordered_map>

namespace marrow::pickle {
namespace {

// Globals a tensor state dict needs. Storage types ("torch.FloatStorage", ...) are matched
// by storage_type() (or any torch.*Storage, refused later with a clearer message), dtypes
// ("torch.float32") are inert values.
constexpr std::string_view kCallables[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch.Size",
};
constexpr std::string_view kDtypes[] = {
    "torch.float16", "torch.bfloat16", "torch.float32", "torch.float64", "torch.int8",
    "torch.int16",   "torch.int32",    "torch.int64",   "torch.uint8",   "torch.bool",
};

bool allowed_global(std::string_view g) {
    for (auto c : kCallables)
        if (g == c) return true;
    for (auto d : kDtypes)
        if (g == d) return true;
    return g.starts_with("torch.") && g.ends_with("Storage") && g.find('.', 6) == g.npos;
}

class Unpickler {
public:
    Unpickler(std::string_view bytes, const std::string& name, const Options& options,
              const PersistentLoad& persistent_load, Document& doc)
        : in_(bytes),
          name_(name),
          options_(options),
          persistent_load_(persistent_load),
          doc_(doc) {}

    size_t run();

private:
    std::string_view in_;
    size_t pos_ = 0, op_pos_ = 0;
    const std::string& name_;
    const Options& options_;
    const PersistentLoad& persistent_load_;
    Document& doc_;
    std::vector<Value*> stack_;
    std::vector<size_t> marks_;  // stack sizes at each MARK
    std::unordered_map<uint64_t, Value*> memo_;

    template <typename... Args>
    [[noreturn]] void bad(fmt::format_string<Args...> f, Args&&... args) const {
        fail("{}: {} (pickle byte {})", name_, fmt::format(f, std::forward<Args>(args)...),
             op_pos_);
    }
    std::string_view take(uint64_t n) {
        if (n > in_.size() - pos_)
            bad("truncated: an argument of {} bytes but {} remain", n, in_.size() - pos_);
        std::string_view s = in_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    uint64_t le(int n) {  // little-endian unsigned integer of n bytes
        std::string_view s = take(uint64_t(n));
        uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(s[size_t(i)]);
        return v;
    }
    std::string_view line() {  // GLOBAL's "module\n" / "name\n"
        size_t end = in_.find('\n', pos_);
        if (end == in_.npos) bad("truncated: GLOBAL without a newline");
        std::string_view s = in_.substr(pos_, end - pos_);
        pos_ = end + 1;
        return s;
    }
    Value* pop() {
        size_t floor = marks_.empty() ? 0 : marks_.back();
        if (stack_.size() <= floor) bad("stack underflow");
        Value* v = stack_.back();
        stack_.pop_back();
        return v;
    }
    Value* top() {
        size_t floor = marks_.empty() ? 0 : marks_.back();
        if (stack_.size() <= floor) bad("stack underflow");
        return stack_.back();
    }
    std::vector<Value*> pop_mark() {
        if (marks_.empty()) bad("no MARK on the stack");
        size_t m = marks_.back();
        marks_.pop_back();
        std::vector<Value*> items(stack_.begin() + std::ptrdiff_t(m), stack_.end());
        stack_.resize(m);
        return items;
    }
    Value* push(Value* v) {
        stack_.push_back(v);
        return v;
    }
    Value* make_int(int64_t v) {
        Value* x = doc_.make(Kind::integer);
        x->integer = v;
        return x;
    }
    Value* make_text(Kind kind, std::string_view s) {
        Value* x = doc_.make(kind);
        x->text = s;
        return x;
    }
    Value* make_tuple(std::vector<Value*> items) {
        Value* t = doc_.make(Kind::tuple);
        t->items = std::move(items);
        return t;
    }
    void global(std::string full) {
        if (allowed_global(full)) {
            push(make_text(Kind::global, full));
            return;
        }
        if (!options_.skip_unknown_globals)
            fail(
                "refusing to load global {} in {}: only tensor state_dict globals are allowed "
                "(torch._utils._rebuild_tensor_v2, torch.*Storage, collections.OrderedDict; "
                "PyTorch's weights_only=True)",
                full, name_);
        bool seen = false;
        for (const auto& s : doc_.skipped_globals) seen = seen || s == full;
        if (!seen) doc_.skipped_globals.push_back(full);
        push(make_text(Kind::opaque, full));
    }
    void set_item(Value* target, Value* key, Value* value) {
        if (target->kind == Kind::opaque) return;  // a skipped object's state: dropped
        if (target->kind != Kind::dict) bad("SETITEM on a {}, not a dict", kind_name(target->kind));
        // A repeated key replaces the value, as in Python (hashed: a million-entry dict
        // must not cost a million squared compares).
        std::string repr;
        if (key->kind == Kind::string || key->kind == Kind::bytes) {
            repr.push_back(key->kind == Kind::string ? 's' : 'b');
            repr.append(key->text);
        } else if (key->kind == Kind::integer) {
            repr = fmt::format("i{}", key->integer);
        } else {
            repr = fmt::format("p{}", static_cast<const void*>(key));  // by identity
        }
        auto [it, added] = target->key_index.emplace(std::move(repr), target->entries.size());
        if (added)
            target->entries.emplace_back(key, value);
        else
            target->entries[it->second].second = value;
    }
    void append(Value* target, std::vector<Value*> items) {
        if (target->kind == Kind::opaque) return;
        if (target->kind != Kind::list) bad("APPEND to a {}, not a list", kind_name(target->kind));
        target->items.insert(target->items.end(), items.begin(), items.end());
    }
    Value* call(Value* func, Value* args);
    Value* rebuild_tensor(const std::string& fn, const std::vector<Value*>& a);
    int64_t int_arg(const Value* v, std::string_view what) {
        if (v->kind != Kind::integer) bad("{} must be an int, got a {}", what, kind_name(v->kind));
        return v->integer;
    }
    Shape shape_arg(const Value* v, std::string_view what) {
        if (v->kind != Kind::tuple && v->kind != Kind::list)
            bad("{} must be a tuple, got a {}", what, kind_name(v->kind));
        if (v->items.size() > 64) bad("{} has {} dimensions", what, v->items.size());
        Shape s;
        for (const Value* x : v->items) s.push_back(int_arg(x, what));
        return s;
    }
};

Value* Unpickler::rebuild_tensor(const std::string& fn, const std::vector<Value*>& a) {
    // _rebuild_tensor(storage, storage_offset, size, stride) and _v2 (..., requires_grad,
    // backward_hooks[, metadata]): the tensor is a view of the storage.
    size_t min_args = fn.ends_with("_v2") ? 6 : 4;
    if (a.size() < min_args || a.size() > min_args + 1)
        bad("{} takes {} arguments, got {}", fn, min_args, a.size());
    if (a[0]->kind != Kind::storage)
        bad("{}: first argument must be a storage, got a {}", fn, kind_name(a[0]->kind));
    int64_t offset = int_arg(a[1], "storage offset");
    Shape size = shape_arg(a[2], "tensor size"), stride = shape_arg(a[3], "tensor stride");
    if (size.size() != stride.size())
        bad("tensor size {} and stride {} differ in rank", size, stride);
    Value* t = doc_.make(Kind::tensor);
    try {
        t->tensor = Tensor(a[0]->storage, offset, size, stride, a[0]->dtype);
    } catch (const Error& e) {
        bad("tensor (size {}, stride {}, offset {}) does not fit its storage of {} bytes: {}", size,
            stride, offset, a[0]->storage->nbytes(), e.what());
    }
    return t;
}

Value* Unpickler::call(Value* func, Value* args) {
    if (func->kind == Kind::opaque) return make_text(Kind::opaque, func->text);
    if (func->kind != Kind::global) bad("REDUCE on a {}, not a global", kind_name(func->kind));
    if (args->kind != Kind::tuple)
        bad("REDUCE arguments must be a tuple, got a {}", kind_name(args->kind));
    const std::string& fn = func->text;
    const auto& a = args->items;
    if (fn == "collections.OrderedDict") {
        Value* d = doc_.make(Kind::dict);
        if (a.empty()) return d;
        if (a.size() != 1 || (a[0]->kind != Kind::list && a[0]->kind != Kind::tuple))
            bad("OrderedDict takes a list of pairs");
        for (Value* kv : a[0]->items) {
            if ((kv->kind != Kind::list && kv->kind != Kind::tuple) || kv->items.size() != 2)
                bad("OrderedDict takes a list of pairs");
            set_item(d, kv->items[0], kv->items[1]);
        }
        return d;
    }
    if (fn == "torch.Size") {
        if (a.size() != 1) bad("torch.Size takes one tuple");
        shape_arg(a[0], "torch.Size");  // checks the items are ints
        return make_tuple(a[0]->items);
    }
    if (fn == "torch._utils._rebuild_tensor" || fn == "torch._utils._rebuild_tensor_v2")
        return rebuild_tensor(fn, a);
    if (fn == "torch._utils._rebuild_parameter" ||
        fn == "torch._utils._rebuild_parameter_with_state") {
        // (data, requires_grad, backward_hooks[, state]): a state dict wants the data.
        if (a.size() < 3 || a.size() > 4 || a[0]->kind != Kind::tensor)
            bad("{} takes (tensor, requires_grad, backward_hooks)", fn);
        return a[0];
    }
    bad("{} cannot be called", fn);
}

size_t Unpickler::run() {
    while (true) {
        op_pos_ = pos_;
        if (pos_ >= in_.size()) bad("truncated: no STOP opcode");
        uint8_t op = uint8_t(in_[pos_++]);
        switch (op) {
            case 0x80: {  // PROTO
                uint64_t p = le(1);
                if (p > 5) bad("pickle protocol {} (this reader knows 2 to 5)", p);
                break;
            }
            case 0x95: {  // FRAME: a length hint; the opcodes inside are read as usual
                uint64_t n = le(8);
                if (n > in_.size() - pos_) bad("truncated: FRAME of {} bytes", n);
                break;
            }
            case '.': {  // STOP
                doc_.root = pop();
                return pos_;
            }
            case '(':  // MARK
                marks_.push_back(stack_.size());
                break;
            case '0':  // POP
                pop();
                break;
            case '1':  // POP_MARK
                pop_mark();
                break;
            case '2':  // DUP
                push(top());
                break;
            case 'N':  // NONE
                push(doc_.make(Kind::none));
                break;
            case 0x88:  // NEWTRUE
            case 0x89:  // NEWFALSE
                push(doc_.make(Kind::boolean))->boolean = op == 0x88;
                break;
            case 'J':  // BININT
                push(make_int(int32_t(uint32_t(le(4)))));
                break;
            case 'K':  // BININT1
                push(make_int(int64_t(le(1))));
                break;
            case 'M':  // BININT2
                push(make_int(int64_t(le(2))));
                break;
            case 0x8a:    // LONG1
            case 0x8b: {  // LONG4
                uint64_t n = le(op == 0x8a ? 1 : 4);
                std::string_view s = take(n);
                if (n > 8) bad("integer of {} bytes does not fit in 64 bits", n);
                uint64_t v = 0;
                for (size_t i = n; i-- > 0;) v = (v << 8) | uint8_t(s[i]);
                if (n > 0 && n < 8 && (uint8_t(s[n - 1]) & 0x80)) v |= ~uint64_t(0) << (8 * n);
                push(make_int(int64_t(v)));
                break;
            }
            case 'G': {  // BINFLOAT: big-endian double
                uint64_t bits = 0;
                for (char c : take(8)) bits = (bits << 8) | uint8_t(c);
                Value* f = push(doc_.make(Kind::floating));
                std::memcpy(&f->floating, &bits, 8);
                break;
            }
            case 'X':  // BINUNICODE
                push(make_text(Kind::string, take(le(4))));
                break;
            case 0x8c:  // SHORT_BINUNICODE
                push(make_text(Kind::string, take(le(1))));
                break;
            case 0x8d:  // BINUNICODE8
                push(make_text(Kind::string, take(le(8))));
                break;
            case 'U':  // SHORT_BINSTRING
                push(make_text(Kind::string, take(le(1))));
                break;
            case 'T': {  // BINSTRING
                int32_t n = int32_t(uint32_t(le(4)));
                if (n < 0) bad("negative string length {}", n);
                push(make_text(Kind::string, take(uint64_t(n))));
                break;
            }
            case 'C':  // SHORT_BINBYTES
                push(make_text(Kind::bytes, take(le(1))));
                break;
            case 'B':  // BINBYTES
                push(make_text(Kind::bytes, take(le(4))));
                break;
            case 0x8e:  // BINBYTES8
                push(make_text(Kind::bytes, take(le(8))));
                break;
            case ')':  // EMPTY_TUPLE
                push(make_tuple({}));
                break;
            case 't':  // TUPLE
                push(make_tuple(pop_mark()));
                break;
            case 0x85:
            case 0x86:
            case 0x87: {  // TUPLE1..3
                std::vector<Value*> items(size_t(op - 0x84));
                for (size_t i = items.size(); i-- > 0;) items[i] = pop();
                push(make_tuple(std::move(items)));
                break;
            }
            case ']':  // EMPTY_LIST
                push(doc_.make(Kind::list));
                break;
            case 'l':  // LIST
                push(doc_.make(Kind::list))->items = pop_mark();
                break;
            case 'a': {  // APPEND
                Value* v = pop();
                append(top(), {v});
                break;
            }
            case 'e': {  // APPENDS
                std::vector<Value*> items = pop_mark();
                append(top(), std::move(items));
                break;
            }
            case '}':  // EMPTY_DICT
                push(doc_.make(Kind::dict));
                break;
            case 'd':    // DICT
            case 'u': {  // SETITEMS
                std::vector<Value*> kv = pop_mark();
                if (kv.size() % 2) bad("odd number of items ({}) for a dict", kv.size());
                Value* d = op == 'd' ? push(doc_.make(Kind::dict)) : top();
                for (size_t i = 0; i < kv.size(); i += 2) set_item(d, kv[i], kv[i + 1]);
                break;
            }
            case 's': {  // SETITEM
                Value* v = pop();
                Value* k = pop();
                set_item(top(), k, v);
                break;
            }
            case 0x8f:  // EMPTY_SET
                push(doc_.make(Kind::set));
                break;
            case 0x90: {  // ADDITEMS
                std::vector<Value*> items = pop_mark();
                Value* s = top();
                if (s->kind != Kind::set) bad("ADDITEMS to a {}, not a set", kind_name(s->kind));
                s->items.insert(s->items.end(), items.begin(), items.end());
                break;
            }
            case 0x91:  // FROZENSET
                push(doc_.make(Kind::set))->items = pop_mark();
                break;
            case 'c': {  // GLOBAL "module\nname\n"
                std::string module(line());
                std::string name(line());
                global(module + "." + name);
                break;
            }
            case 0x93: {  // STACK_GLOBAL
                Value* name = pop();
                Value* module = pop();
                if (module->kind != Kind::string || name->kind != Kind::string)
                    bad("STACK_GLOBAL needs two strings");
                global(module->text + "." + name->text);
                break;
            }
            case 'R': {  // REDUCE: func(*args)
                Value* args = pop();
                Value* func = pop();
                push(call(func, args));
                break;
            }
            case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only skipped classes get here
                Value* args = pop();
                Value* cls = pop();
                if (cls->kind != Kind::opaque)
                    bad("NEWOBJ of {} is not allowed",
                        cls->kind == Kind::global ? cls->text : kind_name(cls->kind));
                (void)args;
                push(make_text(Kind::opaque, cls->text));
                break;
            }
            case 'b': {  // BUILD: inst.__setstate__(state)
                Value* state = pop();
                Value* inst = top();
                (void)state;
                // An OrderedDict's state is its __dict__ (a state dict's `_metadata`: module
                // versions), a tensor's its Python attributes; neither matters to the weights.
                if (inst->kind != Kind::opaque && inst->kind != Kind::dict &&
                    inst->kind != Kind::tensor)
                    bad("BUILD on a {} is not allowed", kind_name(inst->kind));
                break;
            }
            case 'Q': {  // BINPERSID
                Value* pid = pop();
                Value* s = persistent_load_ ? persistent_load_(doc_, *pid) : nullptr;
                if (!s || s->kind != Kind::storage) bad("persistent id did not name a storage");
                push(s);
                break;
            }
            case 'h':    // BINGET
            case 'j': {  // LONG_BINGET
                uint64_t i = le(op == 'h' ? 1 : 4);
                auto it = memo_.find(i);
                if (it == memo_.end()) bad("memo index {} was never stored", i);
                push(it->second);
                break;
            }
            case 'q':  // BINPUT
            case 'r':  // LONG_BINPUT
                memo_[le(op == 'q' ? 1 : 4)] = top();
                break;
            case 0x94:  // MEMOIZE
                memo_[memo_.size()] = top();
                break;
            default:
                bad("unsupported pickle opcode 0x{:02x}{}", op,
                    op >= 0x20 && op < 0x7f ? fmt::format(" ('{}')", char(op)) : std::string());
        }
    }
}

}  // namespace

void unpickle(std::string_view bytes, const std::string& name, const Options& options,
              const PersistentLoad& persistent_load, Document& doc, size_t* end_offset) {
    Unpickler u(bytes, name, options, persistent_load, doc);
    size_t end = u.run();
    if (end_offset) *end_offset = end;
}

std::optional<StorageType> storage_type(std::string_view g) {
    struct Row {
        std::string_view name;
        StorageType type;
    };
    static constexpr Row rows[] = {
        {"torch.FloatStorage", {DType::f32, 4}},       {"torch.DoubleStorage", {DType::f64, 8}},
        {"torch.HalfStorage", {DType::f16, 2}},        {"torch.BFloat16Storage", {DType::bf16, 2}},
        {"torch.LongStorage", {DType::i64, 8}},        {"torch.IntStorage", {DType::i32, 4}},
        {"torch.ShortStorage", {DType::i32, 2, true}}, {"torch.CharStorage", {DType::i32, 1, true}},
        {"torch.ByteStorage", {DType::u8, 1}},         {"torch.BoolStorage", {DType::b8, 1}},
    };
    for (const Row& r : rows)
        if (g == r.name) return r.type;
    return std::nullopt;
}

void widen_into(int32_t* dst, const void* data, int64_t numel, int element_size) {
    const auto* src = static_cast<const uint8_t*>(data);
    for (int64_t i = 0; i < numel; ++i) {
        if (element_size == 1) {
            dst[i] = int8_t(src[i]);
        } else {
            dst[i] = int16_t(uint16_t(src[2 * i] | (src[2 * i + 1] << 8)));
        }
    }
}

std::string_view kind_name(Kind kind) {
    switch (kind) {
        case Kind::none:
            return "None";
        case Kind::boolean:
            return "bool";
        case Kind::integer:
            return "int";
        case Kind::floating:
            return "float";
        case Kind::string:
            return "str";
        case Kind::bytes:
            return "bytes";
        case Kind::list:
            return "list";
        case Kind::tuple:
            return "tuple";
        case Kind::dict:
            return "dict";
        case Kind::set:
            return "set";
        case Kind::global:
            return "global";
        case Kind::opaque:
            return "skipped object";
        case Kind::storage:
            return "storage";
        case Kind::tensor:
            return "tensor";
    }
    return "?";
}

}  // namespace marrow::pickle
