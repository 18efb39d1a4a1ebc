#include "tensor/file_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "tensor/error.h"

namespace marrow {

void sync_path(const std::string& path, std::string_view what) {
    int fd = ::open(path.c_str(), O_RDONLY);
    MARROW_CHECK(fd >= 0, "{}: cannot open \"{}\" to sync it", what, path);
    int rc = ::fsync(fd);
    ::close(fd);
    MARROW_CHECK(rc == 0, "{}: fsync of \"{}\" failed", what, path);
}

std::string read_file(const std::string& path, std::string_view what) {
    std::ifstream in(path, std::ios::binary);
    MARROW_CHECK(in.good(), "{}: cannot open \"{}\"", what, path);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

void write_file_atomic(const std::string& path, std::string_view what,
                       const std::function<void(std::ostream&)>& write) {
    const std::string tmp = fmt::format("{}.tmp.{}", path, getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        MARROW_CHECK(out.good(), "{}: cannot write \"{}\"", what, tmp);
        write(out);
        out.flush();
        if (!out.good()) {
            std::remove(tmp.c_str());
            fail("{}: write to \"{}\" failed", what, tmp);
        }
    }
    // The data reaches the disk before the rename makes it the file, and the rename before
    // we return: a crash leaves the old file or the new one, never a torn one.
    sync_path(tmp, what);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        fail("{}: cannot rename \"{}\" to \"{}\"", what, tmp, path);
    }
    const size_t slash = path.find_last_of('/');
    sync_path(slash == std::string::npos ? "." : path.substr(0, slash + 1), what);
}

void write_file_atomic(const std::string& path, std::string_view text, std::string_view what) {
    write_file_atomic(path, what, [&](std::ostream& out) {
        out.write(text.data(), std::streamsize(text.size()));
    });
}

}  // namespace marrow
