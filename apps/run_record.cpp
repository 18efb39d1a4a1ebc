#include "apps/run_record.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "git_revision.h"  // MARROW_GIT_REVISION, generated at build time
#include "tensor/error.h"

namespace marrow::apps {

std::string fingerprint_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    MARROW_CHECK(in.good(), "fingerprint: cannot open \"{}\"", path);
    uint64_t h = 1469598103934665603ull;
    char buf[1 << 16];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        for (std::streamsize i = 0; i < in.gcount(); ++i) {
            h ^= uint8_t(buf[i]);
            h *= 1099511628211ull;
        }
    }
    return fmt::format("{:016x}", h);
}

RunRecord::RunRecord(const std::string& dir, const std::string& app, const nlohmann::json& flags,
                     uint64_t seed, const std::vector<std::string>& data_files, bool resume)
    : dir_(dir) {
    std::filesystem::create_directories(dir);
    // One entry per file; a dataset of many files (a folder of cells) gets one combined
    // fingerprint instead: FNV-1a of the sorted "path hash" lines, with the file count.
    nlohmann::json data = nlohmann::json::object();
    if (data_files.size() <= kFingerprintFilesListed) {
        for (const std::string& f : data_files) data[f] = fingerprint_file(f);
    } else {
        std::vector<std::string> sorted = data_files;
        std::sort(sorted.begin(), sorted.end());
        uint64_t h = 1469598103934665603ull;
        for (const std::string& f : sorted)
            for (char ch : f + " " + fingerprint_file(f) + "\n") {
                h ^= uint8_t(ch);
                h *= 1099511628211ull;
            }
        data = {{"files", sorted.size()}, {"first", sorted.front()}, {"last", sorted.back()},
                {"combined", fmt::format("{:016x}", h)}};
    }
    auto now = std::chrono::system_clock::now().time_since_epoch();
    run_ = {{"app", app},
            {"flags", flags},
            {"seed", seed},
            {"git_revision", MARROW_GIT_REVISION},
            {"versions", {{"marrow", "0.1.0"}, {"compiler", __VERSION__}, {"cxx", __cplusplus}}},
            {"device", {{"type", "cpu"}, {"omp_threads", omp_get_max_threads()}}},
            {"data_fingerprint", data},
            {"started_unix_s", std::chrono::duration_cast<std::chrono::seconds>(now).count()}};
    write_json();
    metrics_.open(dir + "/metrics.jsonl", resume ? std::ios::app : std::ios::trunc);
    MARROW_CHECK(metrics_.good(), "run record: cannot write \"{}/metrics.jsonl\"", dir);
}

void RunRecord::log(const nlohmann::json& metrics) {
    metrics_ << metrics.dump() << "\n";
    metrics_.flush();
}

void RunRecord::finish(const nlohmann::json& summary) {
    run_["result"] = summary;
    write_json();
}

void RunRecord::write_json() {  // temp file + rename: run.json is never half-written
    std::string path = dir_ + "/run.json", tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        MARROW_CHECK(out.good(), "run record: cannot write \"{}\"", tmp);
        out << run_.dump(2) << "\n";
    }
    MARROW_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0,
                 "run record: cannot rename \"{}\" to \"{}\"", tmp, path);
}

}  // namespace marrow::apps
