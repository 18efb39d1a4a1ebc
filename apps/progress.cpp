#include "apps/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace marrow::apps {

ProgressBar::ProgressBar(std::string label, int64_t total, int64_t first, double plain_every)
    : label_(std::move(label)),
      total_(total),
      first_(first),
      plain_every_(plain_every),
      terminal_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

std::string ProgressBar::format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    auto s = int64_t(std::llround(seconds));
    if (s >= 3600) return fmt::format("{}:{:02d}:{:02d}", s / 3600, s / 60 % 60, s % 60);
    return fmt::format("{}:{:02d}", s / 60, s % 60);
}

std::string ProgressBar::line(int64_t done, double elapsed, const std::string& extra) const {
    double rate = elapsed > 0 ? double(done - first_) / elapsed : 0;
    std::string out = label_;
    if (total_ > 0) {
        constexpr int kWidth = 20;
        int filled = int(std::clamp<double>(double(done) / double(total_), 0, 1) * kWidth);
        out += fmt::format(" [{}{}] {}/{}", std::string(size_t(filled), '#'),
                           std::string(size_t(kWidth - filled), '.'), done, total_);
    } else {
        out += fmt::format(" {}", done);
    }
    out += rate >= 10 ? fmt::format("  {:.0f} it/s", rate) : fmt::format("  {:.2f} it/s", rate);
    if (total_ > 0 && rate > 0 && done < total_)
        out += "  ETA " + format_duration(double(total_ - done) / rate);
    else
        out += "  " + format_duration(elapsed);
    if (!extra.empty()) out += "  " + extra;
    return out;
}

void ProgressBar::print(int64_t done, const std::string& extra, bool final) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (terminal_) {
        if (!final && elapsed - last_print_ < 0.1) return;  // redraw at most 10 times a second
        std::fprintf(stderr, "\r\033[K%s%s", line(done, elapsed, extra).c_str(), final ? "\n" : "");
    } else {
        if (!final && elapsed - last_print_ < plain_every_) return;
        std::fprintf(stderr, "%s\n", line(done, elapsed, extra).c_str());
    }
    std::fflush(stderr);
    last_print_ = elapsed;
}

void ProgressBar::update(int64_t done, const std::string& extra) { print(done, extra, false); }

void ProgressBar::finish(int64_t done, const std::string& extra) { print(done, extra, true); }

}  // namespace marrow::apps
