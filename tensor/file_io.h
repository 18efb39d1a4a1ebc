// Reading a whole file, and writing one so that a crash or a full disk never leaves a torn
// one: the bytes go to `<path>.tmp.<pid>`, are flushed and fsynced, and only then renamed over
// `path`, and the folder is fsynced so the rename itself survives a power cut. A reader (or a
// resumed run) sees the old file or the new one. Checkpoints, features, reports and figures
// all go through here. Errors name `what` (the caller) and the path.
//
//   std::string bytes = read_file("model.safetensors", "load_safetensors");
//   write_file_atomic("runs/x/results.json", json.dump(2), "write_results");
//   write_file_atomic("big.safetensors", "save_safetensors", [&](std::ostream& out) { ... });
#pragma once
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace marrow {

void write_file_atomic(const std::string& path, std::string_view text, std::string_view what);
// The same with the bytes streamed by `write` (large payloads are not copied into one string).
void write_file_atomic(const std::string& path, std::string_view what,
                       const std::function<void(std::ostream&)>& write);

// The whole file as bytes; an Error "<what>: cannot open \"<path>\"" when it cannot be read.
std::string read_file(const std::string& path, std::string_view what);

// fsync of a file or folder (opened read-only); an Error naming `what` and the path.
void sync_path(const std::string& path, std::string_view what);

}  // namespace marrow
