// A run directory for every app run (ARCHITECTURE.md "Apps and runs"): run.json records the
// app, its flags, seed, git revision (at configure time), versions, device and a fingerprint
// of each input file; metrics.jsonl gets one JSON object per line as the run goes.
#pragma once
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace marrow::apps {

// Inputs of up to this many files are fingerprinted one by one in run.json; more (a folder
// of cell images) get one combined fingerprint.
inline constexpr size_t kFingerprintFilesListed = 16;

class RunRecord {
public:
    // Creates `dir` (and parents) and writes run.json; `flags` are the parsed options.
    // `resume`: metrics.jsonl is appended to (the resumed run's lines follow the first's).
    RunRecord(const std::string& dir, const std::string& app, const nlohmann::json& flags,
              uint64_t seed, const std::vector<std::string>& data_files, bool resume = false);
    void log(const nlohmann::json& metrics);     // appends a line to metrics.jsonl
    void finish(const nlohmann::json& summary);  // adds "result" to run.json
    const std::string& dir() const { return dir_; }

private:
    void write_json();
    std::string dir_;
    nlohmann::json run_;
    std::ofstream metrics_;
};

// FNV-1a 64 of a file's bytes, as 16 hex digits (the data fingerprint).
std::string fingerprint_file(const std::string& path);

}  // namespace marrow::apps
