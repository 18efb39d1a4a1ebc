// The zip side of the .pth reader (tensor/pth.cpp), internal. libzip parses and checks the
// archive (central directory, local headers, sizes) through a source of ours that reads the
// file with pread (or memory), so we see where libzip finds each record's data. torch.save
// stores records uncompressed; once libzip has located a stored record's first byte, its
// bytes are read straight into the tensor's storage, on several threads at once, without
// libzip's CRC pass (which cost 2.5x the read itself; torch.load checks no CRCs either:
// PyTorch builds miniz with MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS).
// Compressed records (not written by torch) go through libzip.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace marrow::pth_zip {

// The archive's bytes: a file (read with pread, so threads can share it) or memory.
class ArchiveBytes {
public:
    static ArchiveBytes open_file(const std::string& path);  // Error naming the path
    static ArchiveBytes from_memory(const char* data, uint64_t size);
    ArchiveBytes(ArchiveBytes&& other) noexcept;
    ArchiveBytes& operator=(ArchiveBytes&&) = delete;
    ~ArchiveBytes();
    uint64_t size() const { return size_; }
    // Reads [offset, offset + n); false when that passes the end or the read fails.
    bool read_at(void* dst, uint64_t n, uint64_t offset) const;

private:
    ArchiveBytes() = default;
    int fd_ = -1;
    const char* data_ = nullptr;
    uint64_t size_ = 0;
};

class ZipArchive {
public:
    struct Record {
        uint64_t index, size, comp_size;
        bool stored;
    };
    // Opens the archive (libzip with ZIP_CHECKCONS); an Error naming `name` when it is not a
    // readable zip.
    ZipArchive(const ArchiveBytes& bytes, std::string name);
    ~ZipArchive();
    ZipArchive(const ZipArchive&) = delete;
    ZipArchive& operator=(const ZipArchive&) = delete;

    // The directory holding data.pkl ("archive/" or the saved file's stem, with the '/').
    std::string find_prefix() const;
    // `entry`'s index and sizes, checked against the archive's size; nullopt when absent.
    std::optional<Record> find(const std::string& entry) const;
    // The first `n` bytes of a record through libzip (CRC checked for stored records).
    void read(const Record& r, const std::string& entry, void* dst, uint64_t n) const;
    // Where a stored record's bytes start in the archive, as libzip found them (nullopt for a
    // compressed or empty record).
    std::optional<uint64_t> data_offset(const Record& r, const std::string& entry) const;
    uint64_t archive_bytes() const;

    struct State;  // libzip's handle and the source's position (pth_zip.cpp)

private:
    std::unique_ptr<State> state_;
};

}  // namespace marrow::pth_zip
