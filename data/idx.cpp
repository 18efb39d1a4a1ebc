#include "data/idx.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tensor/factory.h"

extern char** environ;

namespace marrow::data {
namespace {

// Runs `gzip -dc -- path` without a shell and collects at most `max_bytes` of its output.
std::string gunzip(const std::string& path, size_t max_bytes) {
    int fds[2];
    MARROW_CHECK(pipe(fds) == 0, "{}: cannot create a pipe for gzip", path);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    std::string p = path;
    char* argv[] = {const_cast<char*>("gzip"), const_cast<char*>("-dc"), const_cast<char*>("--"),
                    p.data(), nullptr};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gzip", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        fail("{}: cannot run gzip to decompress it ({})", path, std::strerror(rc));
    }
    std::string out;
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0 && out.size() <= max_bytes)
        out.append(buf, size_t(n));
    close(fds[0]);
    bool too_big = out.size() > max_bytes;
    if (too_big) kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    MARROW_CHECK(!too_big, "{}: decompresses to more than the {} byte budget", path, max_bytes);
    MARROW_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "{}: corrupt gzip data (gzip -d failed)", path);
    return out;
}

}  // namespace

std::string read_file_bytes(const std::string& path, size_t max_bytes) {
    MARROW_CHECK(std::filesystem::is_regular_file(path), "{}: no such file", path);
    if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0)
        return gunzip(path, max_bytes);
    uintmax_t size = std::filesystem::file_size(path);
    MARROW_CHECK(size <= max_bytes, "{}: {} bytes, more than the {} byte budget", path, size,
                 max_bytes);
    std::ifstream in(path, std::ios::binary);
    MARROW_CHECK(in.good(), "{}: cannot open", path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

Tensor parse_idx(const std::string& bytes, const std::string& name) {
    auto byte = [&](size_t i) { return uint8_t(bytes[i]); };
    MARROW_CHECK(bytes.size() >= 4, "{}: not an IDX file ({} bytes)", name, bytes.size());
    MARROW_CHECK(byte(0) == 0 && byte(1) == 0, "{}: bad IDX magic {:02x}{:02x}", name, byte(0),
                 byte(1));
    MARROW_CHECK(byte(2) == 0x08,
                 "{}: IDX element type 0x{:02x} is not supported (only "
                 "unsigned bytes, 0x08)",
                 name, byte(2));
    size_t ndim = byte(3);
    MARROW_CHECK(ndim >= 1 && bytes.size() >= 4 + 4 * ndim, "{}: truncated IDX header", name);
    Shape shape;
    for (size_t d = 0; d < ndim; ++d) {
        size_t at = 4 + 4 * d;
        uint32_t s = uint32_t(byte(at)) << 24 | uint32_t(byte(at + 1)) << 16 |
                     uint32_t(byte(at + 2)) << 8 | byte(at + 3);
        shape.push_back(int64_t(s));
    }
    // Note [Checked shape products]: 65536^4 must not wrap to a 0-byte tensor.
    uint64_t numel = uint64_t(checked_numel(shape, name));
    size_t header = 4 + 4 * ndim;
    MARROW_CHECK(bytes.size() - header == numel,
                 "{}: IDX header says shape {} ({} bytes of data) but the file has {}", name, shape,
                 numel, bytes.size() - header);
    Tensor t = empty(shape, DType::u8);
    std::memcpy(t.raw_data(), bytes.data() + header, numel);
    return t;
}

Tensor load_idx(const std::string& path, size_t max_bytes) {
    return parse_idx(read_file_bytes(path, max_bytes), path);
}

}  // namespace marrow::data
