// libzip over a pread/memory source of ours (tensor/pth_zip.h).
#include "tensor/pth_zip.h"

#if MARROW_HAS_LIBZIP
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tensor/error.h"

namespace marrow::pth_zip {

// A deflated record inflates at most ~1032x; anything claiming more is corrupt, and is
// refused before its claimed size is allocated.
constexpr uint64_t kMaxInflate = 1100;

ArchiveBytes ArchiveBytes::open_file(const std::string& path) {
    ArchiveBytes b;
    b.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    MARROW_CHECK(b.fd_ >= 0, "read_pth: cannot open \"{}\": {}", path, std::strerror(errno));
    struct stat st;
    MARROW_CHECK(::fstat(b.fd_, &st) == 0 && S_ISREG(st.st_mode),
                 "read_pth: \"{}\" is not a regular file", path);
    b.size_ = uint64_t(st.st_size);
    return b;
}

ArchiveBytes ArchiveBytes::from_memory(const char* data, uint64_t size) {
    ArchiveBytes b;
    b.data_ = data;
    b.size_ = size;
    return b;
}

ArchiveBytes::ArchiveBytes(ArchiveBytes&& o) noexcept : fd_(o.fd_), data_(o.data_), size_(o.size_) {
    o.fd_ = -1;
}

ArchiveBytes::~ArchiveBytes() {
    if (fd_ >= 0) ::close(fd_);
}

bool ArchiveBytes::read_at(void* dst, uint64_t n, uint64_t offset) const {
    if (offset > size_ || n > size_ - offset) return false;
    if (!data_) {
        auto* p = static_cast<char*>(dst);
        while (n > 0) {
            ssize_t got = ::pread(fd_, p, std::min<uint64_t>(n, 1u << 30), off_t(offset));
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) return false;
            p += got;
            n -= uint64_t(got);
            offset += uint64_t(got);
        }
    } else if (n > 0) {
        std::memcpy(dst, data_ + offset, n);
    }
    return true;
}

struct ZipArchive::State {
    const ArchiveBytes* bytes;
    std::string name;
    uint64_t pos = 0, last_read = 0;  // the source's position; where its last read began
    zip_error_t error;
    zip_t* zip = nullptr;
};

namespace {

zip_int64_t source_callback(void* user, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    auto* s = static_cast<ZipArchive::State*>(user);
    uint64_t size = s->bytes->size();
    switch (cmd) {
        case ZIP_SOURCE_OPEN:
            s->pos = 0;
            return 0;
        case ZIP_SOURCE_READ: {
            uint64_t n = s->pos >= size ? 0 : std::min<uint64_t>(len, size - s->pos);
            if (!s->bytes->read_at(data, n, s->pos)) {
                zip_error_set(&s->error, ZIP_ER_READ, errno);
                return -1;
            }
            s->last_read = s->pos;
            s->pos += n;
            return zip_int64_t(n);
        }
        case ZIP_SOURCE_CLOSE:
            return 0;
        case ZIP_SOURCE_STAT: {
            if (len < sizeof(zip_stat_t)) {
                zip_error_set(&s->error, ZIP_ER_INVAL, 0);
                return -1;
            }
            auto* st = static_cast<zip_stat_t*>(data);
            zip_stat_init(st);
            st->size = size;
            st->valid |= ZIP_STAT_SIZE;
            return sizeof(zip_stat_t);
        }
        case ZIP_SOURCE_ERROR:
            return zip_error_to_data(&s->error, data, len);
        case ZIP_SOURCE_FREE:
            return 0;  // the state belongs to the ZipArchive
        case ZIP_SOURCE_SEEK: {
            zip_int64_t off = zip_source_seek_compute_offset(s->pos, size, data, len, &s->error);
            if (off < 0) return -1;
            s->pos = uint64_t(off);
            return 0;
        }
        case ZIP_SOURCE_TELL:
            return zip_int64_t(s->pos);
        case ZIP_SOURCE_SUPPORTS:
            return zip_source_make_command_bitmap(
                ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL,
                ZIP_SOURCE_SUPPORTS, -1);
        default:
            zip_error_set(&s->error, ZIP_ER_OPNOTSUPP, 0);
            return -1;
    }
}

}  // namespace

ZipArchive::ZipArchive(const ArchiveBytes& bytes, std::string name)
    : state_(std::make_unique<State>()) {
    state_->bytes = &bytes;
    state_->name = std::move(name);
    zip_error_init(&state_->error);
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* src = zip_source_function_create(source_callback, state_.get(), &err);
    if (src) state_->zip = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!state_->zip) {
        std::string why = zip_error_strerror(&err);
        zip_error_fini(&err);
        if (src) zip_source_free(src);
        zip_error_fini(&state_->error);
        fail("{}: not a readable zip archive: {}", state_->name, why);
    }
    zip_error_fini(&err);
}

ZipArchive::~ZipArchive() {
    zip_discard(state_->zip);
    zip_error_fini(&state_->error);
}

uint64_t ZipArchive::archive_bytes() const { return state_->bytes->size(); }

std::string ZipArchive::find_prefix() const {
    zip_int64_t n = zip_get_num_entries(state_->zip, 0);
    for (zip_int64_t i = 0; i < n; ++i) {
        const char* entry = zip_get_name(state_->zip, zip_uint64_t(i), ZIP_FL_ENC_RAW);
        if (!entry) continue;
        std::string_view s(entry);
        if (s.ends_with("/data.pkl") && s.find('/') == s.size() - 9)
            return std::string(s.substr(0, s.size() - 8));
    }
    fail("{}: no <archive>/data.pkl in the zip ({} entries): not a torch.save checkpoint",
         state_->name, n);
}

std::optional<ZipArchive::Record> ZipArchive::find(const std::string& entry) const {
    zip_int64_t i = zip_name_locate(state_->zip, entry.c_str(), ZIP_FL_ENC_RAW);
    if (i < 0) return std::nullopt;
    zip_stat_t st;
    zip_stat_init(&st);
    MARROW_CHECK(zip_stat_index(state_->zip, zip_uint64_t(i), 0, &st) == 0 &&
                     (st.valid & ZIP_STAT_SIZE) && (st.valid & ZIP_STAT_COMP_SIZE) &&
                     (st.valid & ZIP_STAT_COMP_METHOD),
                 "{}: cannot stat {}: {}", state_->name, entry, zip_strerror(state_->zip));
    MARROW_CHECK(!(st.valid & ZIP_STAT_ENCRYPTION_METHOD) || st.encryption_method == ZIP_EM_NONE,
                 "{}: {} is encrypted", state_->name, entry);
    bool stored = st.comp_method == ZIP_CM_STORE;
    MARROW_CHECK(st.comp_size <= archive_bytes() &&
                     (stored ? st.size == st.comp_size : st.size / kMaxInflate <= st.comp_size),
                 "{}: {} claims {} bytes from {} compressed bytes in a {}-byte archive: "
                 "corrupt zip",
                 state_->name, entry, st.size, st.comp_size, archive_bytes());
    return Record{uint64_t(i), uint64_t(st.size), uint64_t(st.comp_size), stored};
}

void ZipArchive::read(const Record& r, const std::string& entry, void* dst, uint64_t n) const {
    if (n == 0) return;
    zip_file_t* f = zip_fopen_index(state_->zip, r.index, 0);
    MARROW_CHECK(f != nullptr, "{}: cannot open {}: {}", state_->name, entry,
                 zip_strerror(state_->zip));
    uint64_t done = 0;
    while (done < n) {
        zip_int64_t got = zip_fread(f, static_cast<char*>(dst) + done, n - done);
        if (got <= 0) {
            std::string why = got < 0 ? zip_file_strerror(f) : "unexpected end of data";
            zip_fclose(f);
            fail("{}: reading {} failed after {} of {} bytes: {}", state_->name, entry, done, n,
                 why);
        }
        done += uint64_t(got);
    }
    zip_fclose(f);
}

std::optional<uint64_t> ZipArchive::data_offset(const Record& r, const std::string& entry) const {
    if (!r.stored || r.size == 0) return std::nullopt;
    // libzip reads the local header when the record is opened, then its first data byte
    // where the header says the data starts: that read's offset is the data's.
    zip_file_t* f = zip_fopen_index(state_->zip, r.index, ZIP_FL_COMPRESSED);
    MARROW_CHECK(f != nullptr, "{}: cannot open {}: {}", state_->name, entry,
                 zip_strerror(state_->zip));
    char first = 0, again = 0;
    zip_int64_t got = zip_fread(f, &first, 1);
    uint64_t offset = state_->last_read;
    zip_fclose(f);
    MARROW_CHECK(got == 1, "{}: cannot read {}", state_->name, entry);
    if (!state_->bytes->read_at(&again, 1, offset) || again != first) return std::nullopt;
    MARROW_CHECK(offset <= archive_bytes() && r.size <= archive_bytes() - offset,
                 "{}: {} ({} bytes at offset {}) runs past the {}-byte archive: truncated",
                 state_->name, entry, r.size, offset, archive_bytes());
    return offset;
}

}  // namespace marrow::pth_zip
#endif  // MARROW_HAS_LIBZIP
