// The replay driver of the fuzz targets in the ordinary builds (g++ or clang, Release or
// ASan+UBSan): runs every file of the given folders (or the given files) through the target's
// LLVMFuzzerTestOneInput once, as libFuzzer would, so the committed corpora and the regression
// inputs stay harmless in every build without a fuzzing toolchain.
//
//   fuzz_<name>_replay tests/fuzz/corpus/<name> tests/fuzz/regressions/<name>
//
// A target treats marrow::Error as a normal outcome; anything escaping it (another exception,
// such as std::bad_alloc when the memory budget below is exceeded) is a finding: the file is
// named and the exit status is 1. Crashes and sanitizer reports end the process, which fails
// the test as well. A missing folder is fine (a target may have no regressions yet); no input
// at all is an error, so a target cannot pass by replaying nothing.
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

// The memory a parser may use on one input, as tools/fuzz.sh gives libFuzzer
// (-rss_limit_mb=2048 -malloc_limit_mb=2048), plus room for the process itself. Under ASan
// the test sets ASAN_OPTIONS=max_allocation_size_mb=2048 instead (its shadow memory would
// count against a data limit).
constexpr rlim_t kDataLimitBytes = rlim_t(3) << 30;

std::vector<fs::path> inputs(int argc, char** argv) {
    std::vector<fs::path> files;
    for (int a = 1; a < argc; ++a) {
        fs::path p = argv[a];
        if (fs::is_regular_file(p)) {
            files.push_back(p);
        } else if (fs::is_directory(p)) {
            for (const auto& e : fs::recursive_directory_iterator(p))
                if (e.is_regular_file()) files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

int main(int argc, char** argv) {
    if (!kAsan) {
        rlimit limit{kDataLimitBytes, kDataLimitBytes};
        setrlimit(RLIMIT_DATA, &limit);
    }
    std::vector<fs::path> files = inputs(argc, argv);
    if (files.empty()) {
        std::fprintf(stderr, "%s: no input files in the given folders\n", argv[0]);
        return 1;
    }
    int findings = 0;
    for (const fs::path& file : files) {
        std::ifstream in(file, std::ios::binary);
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
        try {
            LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "FINDING %s: escaped the target: %s\n", file.c_str(), e.what());
            ++findings;
        } catch (...) {
            std::fprintf(stderr, "FINDING %s: a non-std exception escaped the target\n",
                         file.c_str());
            ++findings;
        }
    }
    std::printf("%s: %zu inputs replayed, %d findings\n", argv[0], files.size(), findings);
    return findings == 0 ? 0 : 1;
}
