// torch.save files: the zip container through libzip, the legacy stream by hand (it is a
// sequence of pickles and length-prefixed blobs, no container), storages for the unpickler's
// persistent ids, and the flattening of the tree to dotted keys (tensor/pth.h).
#include "tensor/pth.h"

#include "tensor/pth_zip.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <set>
#include <unordered_map>

namespace marrow {
namespace {

using pickle::Document;
using pickle::Kind;
using pickle::Value;

// The checked parts of a persistent id ('storage', storage_type, key, location, numel, ...).
struct StorageId {
    std::string type_name;
    pickle::StorageType type;
    std::string key;
    int64_t numel;
    uint64_t file_bytes;  // numel * element size in the file
};

StorageId parse_storage_id(const Value& pid, const std::string& name) {
    auto is_str = [](const Value* v) { return v->kind == Kind::string || v->kind == Kind::bytes; };
    MARROW_CHECK(pid.kind == Kind::tuple && pid.items.size() >= 5 && is_str(pid.items[0]) &&
                     pid.items[0]->text == "storage",
                 "{}: persistent id is not ('storage', type, key, location, numel)", name);
    const Value& type = *pid.items[1];
    const Value& key = *pid.items[2];
    const Value& numel = *pid.items[4];
    MARROW_CHECK(type.kind == Kind::global, "{}: storage type is a {}, not a global", name,
                 pickle::kind_name(type.kind));
    auto st = pickle::storage_type(type.text);
    MARROW_CHECK(st.has_value(),
                 "{}: unsupported storage type {} (marrow reads float, double, "
                 "half, bfloat16, long, int, short, char, byte and bool storages)",
                 name, type.text);
    MARROW_CHECK(is_str(&key), "{}: storage key is a {}, not a string", name,
                 pickle::kind_name(key.kind));
    MARROW_CHECK(numel.kind == Kind::integer && numel.integer >= 0,
                 "{}: storage {} has no valid numel", name, key.text);
    uint64_t bytes = 0;
    MARROW_CHECK(
        !__builtin_mul_overflow(uint64_t(numel.integer), uint64_t(st->element_size), &bytes),
        "{}: storage {} numel {} overflows", name, key.text, numel.integer);
    return {type.text, *st, key.text, numel.integer, bytes};
}

// A new storage for `id` (int32 for int8/int16 storages: marrow has no narrower integers).
Value* alloc_storage(Document& doc, const StorageId& id) {
    Value* v = doc.make(Kind::storage);
    v->dtype = id.type.dtype;
    v->storage = Storage::allocate(
        id.type.is_signed_narrow ? size_t(id.numel) * 4 : size_t(id.file_bytes), Device::cpu());
    return v;
}

// Fills `v` with the file's bytes from `read(dst, nbytes)`: widened for int8/int16, bools
// normalized to 0/1 so no invalid bool is ever read.
template <typename Read>
void fill_storage(const Value* v, const StorageId& id, Read&& read) {
    if (id.type.is_signed_narrow) {
        std::vector<uint8_t> raw(id.file_bytes);
        read(raw.data(), id.file_bytes);
        pickle::widen_into(static_cast<int32_t*>(v->storage->data()), raw.data(), id.numel,
                           id.type.element_size);
        return;
    }
    read(v->storage->data(), id.file_bytes);
    if (id.type.dtype == DType::b8) {
        auto* p = static_cast<uint8_t*>(v->storage->data());
        for (uint64_t i = 0; i < id.file_bytes; ++i) p[i] = p[i] != 0;
    }
}

// ---- zip ----------------------------------------------------------------------------
#if MARROW_HAS_LIBZIP

using pth_zip::ArchiveBytes;
using pth_zip::ZipArchive;

// One storage to read: into which value, from where.
struct ReadJob {
    const Value* value;
    StorageId id;
    std::string entry;
    ZipArchive::Record record;
    std::optional<uint64_t> offset;  // of a stored record's bytes in the archive
};

// Reads every storage: stored records straight from the archive's bytes (pread or memcpy),
// on OpenMP's threads when there is much to read (two threads fill fresh storages from the
// page cache faster than one); others through libzip, serially (a zip_t is not thread safe).
void run_reads(const ZipArchive& zip, const ArchiveBytes& bytes, const std::string& name,
               std::vector<ReadJob>& jobs) {
    uint64_t total = 0;
    for (ReadJob& j : jobs) {
        j.offset = zip.data_offset(j.record, j.entry);
        if (!j.offset)
            fill_storage(j.value, j.id,
                         [&](void* dst, uint64_t n) { zip.read(j.record, j.entry, dst, n); });
        else
            total += j.id.file_bytes;
    }
    std::sort(jobs.begin(), jobs.end(),
              [](const ReadJob& a, const ReadJob& b) { return a.id.file_bytes > b.id.file_bytes; });
    // OpenMP's team, not threads of our own: the copy_ that follows a load runs on the same
    // team, and a second pool would compete with its spinning workers.
    std::mutex error_mutex;
    std::exception_ptr error;
    int64_t n_jobs = int64_t(jobs.size());
#pragma omp parallel for schedule(dynamic, 1) if (total >= (32u << 20))
    for (int64_t i = 0; i < n_jobs; ++i) {
        const ReadJob& j = jobs[size_t(i)];
        if (!j.offset) continue;
        try {
            fill_storage(j.value, j.id, [&](void* dst, uint64_t n) {
                MARROW_CHECK(bytes.read_at(dst, n, *j.offset),
                             "{}: reading {} ({} bytes at offset {}) failed", name, j.entry, n,
                             *j.offset);
            });
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
}

PthFile read_zip(const ArchiveBytes& archive, const std::string& name, const PthOptions& options) {
    ZipArchive zip(archive, name);
    std::string prefix = zip.find_prefix();
    PthFile file{name, false, std::make_shared<Document>()};
    auto pkl = zip.find(prefix + "data.pkl");
    if (auto bo = zip.find(prefix + "byteorder")) {  // torch >= 1.12 records it
        std::string order(std::min<uint64_t>(bo->size, 16), '\0');
        zip.read(*bo, prefix + "byteorder", order.data(), order.size());
        MARROW_CHECK(order == "little", "{}: byte order \"{}\": only little-endian files load",
                     name, order);
    }
    std::string bytes(pkl->size, '\0');
    zip.read(*pkl, prefix + "data.pkl", bytes.data(), bytes.size());
    // Each storage the pickle names is checked and allocated then, read once after it.
    std::unordered_map<std::string, Value*> loaded;
    std::vector<ReadJob> jobs;
    // The records of distinct storages cannot overlap in an honest archive, so their
    // compressed sizes add up to at most the archive's: a central directory naming one blob
    // a thousand times cannot make us allocate a thousand times the file.
    uint64_t record_bytes = 0;
    auto persistent_load = [&](Document& doc, const Value& pid) -> Value* {
        StorageId id = parse_storage_id(pid, name + "/" + prefix + "data.pkl");
        if (auto it = loaded.find(id.key); it != loaded.end()) {
            MARROW_CHECK(it->second->dtype == id.type.dtype,
                         "{}: storage {} is used as {} and as {}", name, id.key, it->second->dtype,
                         id.type.dtype);
            return it->second;
        }
        std::string entry = prefix + "data/" + id.key;
        auto rec = zip.find(entry);
        MARROW_CHECK(rec.has_value(), "{}: missing storage record {} (a {} of {} elements)", name,
                     entry, id.type_name, id.numel);
        MARROW_CHECK(rec->size >= id.file_bytes,
                     "{}: storage record {} has {} bytes but {} of {} elements needs {}", name,
                     entry, rec->size, id.type_name, id.numel, id.file_bytes);
        record_bytes += rec->comp_size;
        MARROW_CHECK(record_bytes <= zip.archive_bytes(),
                     "{}: storage records add up to more than the {}-byte archive: corrupt zip",
                     name, zip.archive_bytes());
        Value* v = alloc_storage(doc, id);
        loaded.emplace(id.key, v);
        jobs.push_back({v, id, entry, *rec, std::nullopt});
        return v;
    };
    pickle::unpickle(bytes, name + "/" + prefix + "data.pkl",
                     {.skip_unknown_globals = options.skip_unknown_globals}, persistent_load,
                     *file.document);
    run_reads(zip, archive, name, jobs);
    return file;
}

#endif  // MARROW_HAS_LIBZIP

// ---- legacy stream ------------------------------------------------------------------

// pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2): LONG1 of 10 bytes, then STOP.
constexpr char kLegacyMagic[] = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";
constexpr size_t kLegacyMagicSize = sizeof(kLegacyMagic) - 1;

PthFile parse_legacy(std::string_view bytes, const std::string& name, const PthOptions& options) {
    PthFile file{name, true, std::make_shared<Document>()};
    size_t pos = kLegacyMagicSize;
    auto next_pickle = [&](const char* what, const pickle::PersistentLoad& pl) {
        Document& doc = *file.document;
        size_t used = 0;
        pickle::unpickle(bytes.substr(pos), fmt::format("{} ({} pickle)", name, what),
                         {.skip_unknown_globals = options.skip_unknown_globals}, pl, doc, &used);
        pos += used;
        return doc.root;
    };
    const Value* version = next_pickle("protocol version", nullptr);
    MARROW_CHECK(version->kind == Kind::integer && version->integer == 1001,
                 "{}: legacy protocol version is not 1001", name);
    const Value* sys_info = next_pickle("sys_info", nullptr);
    MARROW_CHECK(sys_info->kind == Kind::dict, "{}: legacy sys_info is not a dict", name);
    for (auto [k, v] : sys_info->entries)
        if (k->kind == Kind::string && k->text == "little_endian")
            MARROW_CHECK(v->kind == Kind::boolean && v->boolean,
                         "{}: saved on a big-endian machine: not supported", name);
    // Storages are allocated when named (the pickle comes before their bytes), each bounded
    // by what is left of the file, and filled after the key list.
    struct Pending {
        StorageId id;
        Value* value;
    };
    std::unordered_map<std::string, Pending> pending;
    uint64_t promised = 0;  // bytes of the storages named so far: all must follow the pickles
    auto persistent_load = [&](Document& doc, const Value& pid) -> Value* {
        StorageId id = parse_storage_id(pid, name);
        MARROW_CHECK(pid.items.size() < 6 || pid.items[5]->kind == Kind::none,
                     "{}: storage {} is a view of another storage (pre-1.0 files): not supported",
                     name, id.key);
        if (auto it = pending.find(id.key); it != pending.end()) {
            MARROW_CHECK(it->second.id.type.dtype == id.type.dtype,
                         "{}: storage {} is used with two types", name, id.key);
            return it->second.value;
        }
        promised += id.file_bytes;
        MARROW_CHECK(promised <= bytes.size() - pos,
                     "{}: storage {} of {} elements: the storages named need {} bytes but the "
                     "file has {} left",
                     name, id.key, id.numel, promised, bytes.size() - pos);
        Value* v = alloc_storage(doc, id);
        pending.emplace(id.key, Pending{id, v});
        return v;
    };
    Value* root = next_pickle("main", persistent_load);
    const Value* keys = next_pickle("storage keys", nullptr);
    MARROW_CHECK(keys->kind == Kind::list, "{}: legacy storage key list is not a list", name);
    std::set<std::string> filled;
    for (const Value* k : keys->items) {
        MARROW_CHECK(k->kind == Kind::string, "{}: a storage key is not a string", name);
        auto it = pending.find(k->text);
        MARROW_CHECK(it != pending.end(), "{}: storage {} is listed but never used", name, k->text);
        MARROW_CHECK(filled.insert(k->text).second, "{}: storage {} is listed twice", name,
                     k->text);
        MARROW_CHECK(bytes.size() - pos >= 8, "{}: truncated before storage {}", name, k->text);
        int64_t numel = 0;
        std::memcpy(&numel, bytes.data() + pos, 8);
        pos += 8;
        const StorageId& id = it->second.id;
        MARROW_CHECK(numel == id.numel, "{}: storage {} has {} elements, the pickle said {}", name,
                     k->text, numel, id.numel);
        MARROW_CHECK(id.file_bytes <= bytes.size() - pos,
                     "{}: truncated: storage {} needs {} bytes, {} left", name, k->text,
                     id.file_bytes, bytes.size() - pos);
        fill_storage(it->second.value, id,
                     [&](void* dst, uint64_t n) { std::memcpy(dst, bytes.data() + pos, n); });
        pos += id.file_bytes;
    }
    for (const auto& [key, p] : pending)
        MARROW_CHECK(filled.count(key), "{}: storage {} has no data in the file", name, key);
    file.document->root = root;
    return file;
}

bool starts_with_zip(std::string_view head) { return head.starts_with("PK\x03\x04"); }
bool starts_with_legacy(std::string_view head) {
    return head.starts_with(std::string_view(kLegacyMagic, kLegacyMagicSize));
}

// ---- flattening ---------------------------------------------------------------------

struct Flattener {
    std::vector<std::pair<std::string, Tensor>> out;
    std::set<std::string> seen;
    size_t visits = 0, max_visits;
    const std::string& name;
    uint64_t key_bytes = 0;  // all keys built so far: bounded like the visits

    void walk(const Value* v, const std::string& key, int depth) {
        MARROW_CHECK(depth <= pickle::kMaxDepth, "{}: objects nest deeper than {} levels at {}",
                     name, pickle::kMaxDepth, key);
        MARROW_CHECK(++visits <= max_visits,
                     "{}: the object graph shares subtrees too often to flatten", name);
        auto child = [&](const std::string& k) {
            std::string c = key.empty() ? k : key + "." + k;
            key_bytes += c.size();
            MARROW_CHECK(c.size() <= 4096 && key_bytes <= (uint64_t(256) << 20),
                         "{}: keys longer than 4096 characters (or 256 MB of them in all)", name);
            return c;
        };
        switch (v->kind) {
            case Kind::tensor:
                MARROW_CHECK(seen.insert(key).second, "{}: two tensors flatten to the key \"{}\"",
                             name, key);
                out.emplace_back(key, *v->tensor);
                break;
            case Kind::dict:
                for (auto [k, x] : v->entries) {
                    if (k->kind == Kind::string || k->kind == Kind::bytes)
                        walk(x, child(k->text), depth + 1);
                    else if (k->kind == Kind::integer)
                        walk(x, child(std::to_string(k->integer)), depth + 1);
                    else
                        fail("{}: a dict at \"{}\" has a {} key", name, key,
                             pickle::kind_name(k->kind));
                }
                break;
            case Kind::list:
            case Kind::tuple:
                for (size_t i = 0; i < v->items.size(); ++i)
                    walk(v->items[i], child(std::to_string(i)), depth + 1);
                break;
            default:
                break;  // numbers, strings, skipped objects: not weights
        }
    }
};

}  // namespace

PthFile parse_pth(const std::string& bytes, const std::string& name, const PthOptions& options) {
    if (starts_with_legacy(bytes)) return parse_legacy(bytes, name, options);
    MARROW_CHECK(starts_with_zip(bytes),
                 "{}: not a torch.save file (neither a zip archive nor the legacy format)", name);
#if !MARROW_HAS_LIBZIP
    fail("{}: this build has no libzip (libzip-dev) to open .pth zip archives", name);
#else
    return read_zip(ArchiveBytes::from_memory(bytes.data(), bytes.size()), name, options);
#endif
}

PthFile read_pth(const std::string& path, const PthOptions& options) {
#if !MARROW_HAS_LIBZIP
    // (no ArchiveBytes without libzip: the legacy format is parsed from memory)
    std::ifstream in(path, std::ios::binary);
    MARROW_CHECK(in.good(), "read_pth: cannot open \"{}\"", path);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return parse_pth(all, path, options);
#else
    ArchiveBytes archive = ArchiveBytes::open_file(path);
    std::string head(std::min<uint64_t>(archive.size(), kLegacyMagicSize), '\0');
    MARROW_CHECK(archive.read_at(head.data(), head.size(), 0), "read_pth: cannot read \"{}\"",
                 path);
    if (starts_with_legacy(head)) {
        std::string all(archive.size(), '\0');
        MARROW_CHECK(archive.read_at(all.data(), all.size(), 0), "read_pth: cannot read \"{}\"",
                     path);
        return parse_legacy(all, path, options);
    }
    MARROW_CHECK(starts_with_zip(head),
                 "{}: not a torch.save file (neither a zip archive nor the legacy format)", path);
    return read_zip(archive, path, options);
#endif
}

std::vector<std::pair<std::string, Tensor>> flatten_tensors(const PthFile& file) {
    Flattener f{{}, {}, 0, 2 * file.document->arena.size() + 16, file.path};
    f.walk(&file.root(), "", 0);
    return std::move(f.out);
}

std::map<std::string, Tensor> load_pth(const std::string& path, const PthOptions& options) {
    std::map<std::string, Tensor> out;
    for (auto& [k, t] : flatten_tensors(read_pth(path, options))) out.emplace(k, t);
    return out;
}

bool is_pth_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char head[kLegacyMagicSize] = {};
    in.read(head, kLegacyMagicSize);
    std::string_view h(head, size_t(in.gcount()));
    return starts_with_zip(h) || starts_with_legacy(h);
}

}  // namespace marrow
