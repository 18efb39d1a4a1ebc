// A progress bar for long loops: on a terminal one line redrawn in place
//   epoch 3/10 [##########..........] 234/469  51.3 it/s  ETA 0:04  loss 0.3121
// and, when stderr is a file or a pipe (CI logs, nohup), a plain line every `plain_every`
// seconds and at the end, so logs stay readable.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace marrow::apps {

class ProgressBar {
public:
    // total: iterations expected (0: unknown, no bar or ETA); label: printed first; first:
    // iterations already done before this bar started (a resumed epoch), left out of the rate.
    ProgressBar(std::string label, int64_t total, int64_t first = 0, double plain_every = 10);
    // `done` iterations so far; `extra` is appended (e.g. "loss 0.3121").
    void update(int64_t done, const std::string& extra = "");
    // Prints the final state and ends the line.
    void finish(int64_t done, const std::string& extra = "");

    // "1:02:03" / "4:05" for a duration in seconds (exposed for tests).
    static std::string format_duration(double seconds);
    // The line without terminal control characters (exposed for tests).
    std::string line(int64_t done, double elapsed, const std::string& extra) const;

private:
    void print(int64_t done, const std::string& extra, bool final);
    std::string label_;
    int64_t total_, first_;
    double plain_every_;
    bool terminal_;
    std::chrono::steady_clock::time_point start_;
    double last_print_ = -1e9;
};

}  // namespace marrow::apps
