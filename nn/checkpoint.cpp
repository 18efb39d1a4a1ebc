#include "nn/checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace marrow::nn {

namespace fs = std::filesystem;

namespace {
constexpr const char* kMetaKey = "marrow.checkpoint";
constexpr const char* kPrefix = "checkpoint_";
constexpr const char* kSuffix = ".safetensors";
}  // namespace

const StateDict& Checkpoint::section(const std::string& name) const {
    auto it = sections.find(name);
    if (it == sections.end()) {
        std::vector<std::string> have;
        for (const auto& [n, s] : sections) have.push_back(n);
        fail("checkpoint {}has no '{}' section (it has: {})",
             source.empty() ? "" : "\"" + source + "\" ", name, fmt::join(have, ", "));
    }
    return it->second;
}

void save_checkpoint(const fs::path& path, const Checkpoint& checkpoint) {
    std::map<std::string, Tensor> tensors;
    nlohmann::json names = nlohmann::json::array();
    for (const auto& [name, dict] : checkpoint.sections) {
        MARROW_CHECK(!name.empty() && name.find('/') == std::string::npos,
                     "save_checkpoint: section name '{}' must be non-empty without '/'", name);
        names.push_back(name);
        for (const auto& [key, tensor] : dict) tensors.emplace(name + "/" + key, tensor);
    }
    nlohmann::json header = {{"format", 1}, {"sections", names}, {"meta", checkpoint.meta}};
    save_safetensors(path.string(), tensors, {{kMetaKey, header.dump()}});
}

Checkpoint load_checkpoint(const fs::path& path) {
    SafetensorsFile file = load_safetensors(path.string());
    auto it = file.metadata.find(kMetaKey);
    MARROW_CHECK(it != file.metadata.end(),
                 "\"{}\" is not a marrow training checkpoint (no '{}' metadata): a weights "
                 "file loads with nn::load_state_dict_file",
                 path.string(), kMetaKey);
    nlohmann::json header = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    MARROW_CHECK(header.is_object() && header.contains("sections") &&
                     header["sections"].is_array() && header.contains("meta"),
                 "\"{}\": the checkpoint header is malformed", path.string());
    Checkpoint out;
    out.source = path.string();
    out.meta = header["meta"];
    for (const auto& name : header["sections"]) {
        MARROW_CHECK(name.is_string(), "\"{}\": a section name is not a string", path.string());
        out.sections[name.get<std::string>()];
    }
    for (auto& [key, tensor] : file.tensors) {
        size_t slash = key.find('/');
        std::string section = slash == std::string::npos ? "" : key.substr(0, slash);
        auto s = out.sections.find(section);
        MARROW_CHECK(s != out.sections.end(), "\"{}\": tensor '{}' belongs to no section",
                     path.string(), key);
        s->second.insert(key.substr(slash + 1), tensor);
    }
    return out;
}

CheckpointDir::CheckpointDir(fs::path dir, int keep_last)
    : dir_(std::move(dir)), keep_last_(keep_last) {
    MARROW_CHECK(keep_last >= 1, "CheckpointDir: keep_last must be >= 1, got {}", keep_last);
}

std::vector<std::pair<int64_t, fs::path>> CheckpointDir::list() const {
    std::vector<std::pair<int64_t, fs::path>> out;
    if (!fs::is_directory(dir_)) return out;
    for (const auto& entry : fs::directory_iterator(dir_)) {
        std::string name = entry.path().filename().string();
        if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) continue;
        std::string digits = name.substr(std::char_traits<char>::length(kPrefix),
                                         name.size() - std::char_traits<char>::length(kPrefix) -
                                             std::char_traits<char>::length(kSuffix));
        int64_t step = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
        if (ec == std::errc() && end == digits.data() + digits.size())
            out.emplace_back(step, entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<fs::path> CheckpointDir::latest() const {
    auto all = list();
    if (all.empty()) return std::nullopt;
    return all.back().second;
}

fs::path CheckpointDir::save(int64_t step, const Checkpoint& checkpoint) {
    MARROW_CHECK(step >= 0, "CheckpointDir::save: step must be >= 0, got {}", step);
    fs::create_directories(dir_);
    fs::path path = dir_ / fmt::format("{}{:08d}{}", kPrefix, step, kSuffix);
    save_checkpoint(path, checkpoint);
    auto all = list();  // the new file is in place before any old one goes
    for (size_t i = 0; i + size_t(keep_last_) < all.size(); ++i) fs::remove(all[i].second);
    return path;
}

}  // namespace marrow::nn
