// Contract: the payload object an archived file becomes in a cold target (docs/formats.md, "HSM payload").
// A payload is a valid zstd stream, so `zstd -d` restores the content without Tiercel and `b2sum -l 256` checks it:
//   1. a skippable frame (magic 0x184D2A50) holding a JSON header: path, size, mode, owner, times, xattrs, the
//      BLAKE2b-256 of the content, file id and version;
//   2. independent zstd frames of frame_size (1 MiB) raw bytes each, with zstd's content checksum and size;
//   3. a skippable frame (magic 0x184D2A5E) with the seek table, laid out like zstd's seekable format: one
//      {compressed u32, raw u32} entry per data frame, then frame count u32, descriptor u8 (0), magic 0x8F92EAB1.
// write_payload() reads the source fd twice: once to hash (the header comes first and carries the hash), once to
// compress. Range reads decode only the frames they need. Thread-safe: no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tiercel/core/error.hpp"

namespace tiercel::hsm {

inline constexpr uint32_t header_frame_magic = 0x184D2A50;
inline constexpr uint32_t seek_frame_magic = 0x184D2A5E;
inline constexpr uint32_t seek_footer_magic = 0x8F92EAB1;
inline constexpr uint32_t default_frame_size = 1u << 20;

struct PayloadHeader {
    std::string path;
    uint64_t size = 0;
    uint32_t mode = 0, uid = 0, gid = 0;
    int64_t atime_ns = 0, mtime_ns = 0, ctime_ns = 0;
    std::map<std::string, std::string> xattrs;  // name -> raw value bytes
    std::string blake2b;                        // hex BLAKE2b-256 of the content
    int64_t file_id = 0, version = 0;
    uint32_t frame_size = default_frame_size;
};

nlohmann::json header_to_json(const PayloadHeader& header);
Result<PayloadHeader> header_from_json(const nlohmann::json& json);

struct Frame {
    uint64_t payload_offset = 0;  // where its compressed bytes start in the payload
    uint32_t compressed_size = 0;
    uint64_t raw_offset = 0;      // where its bytes belong in the file
    uint32_t raw_size = 0;
};

struct SeekTable {
    std::vector<Frame> frames;
    // Frames that hold raw bytes [offset, offset + length), as an index range [first, last).
    std::pair<size_t, size_t> covering(uint64_t offset, uint64_t length) const;
};

// Where payload bytes go (a target's new object).
class ByteSink {
public:
    virtual ~ByteSink() = default;
    virtual Status write(std::span<const uint8_t> bytes) = 0;
};

// Where payload bytes come from (a target's stored object).
class ByteSource {
public:
    virtual ~ByteSource() = default;
    virtual uint64_t size() const = 0;
    virtual Status read_at(uint64_t offset, std::span<uint8_t> out) = 0;
};

struct WrittenPayload {
    PayloadHeader header;
    SeekTable table;
    uint64_t payload_size = 0;
};

// Hashes the open file `fd` (pass 1), then writes header, frames and seek table to `sink` (pass 2). Fails with
// Errc::busy when the file's bytes differ between the passes (it changed while being archived).
Result<WrittenPayload> write_payload(int fd, PayloadHeader header, ByteSink& sink, int level = 3);

Result<PayloadHeader> read_header(ByteSource& source);
Result<SeekTable> read_seek_table(ByteSource& source);
// Decodes one frame; zstd checks its content checksum, and the size must match the seek table.
Result<std::vector<uint8_t>> read_frame(ByteSource& source, const Frame& frame);
// The same into `out` (resized to the frame's raw size), with `compressed` as scratch: callers that decode many
// frames keep both and so skip an allocation and a zero fill per frame. The zstd context is per thread.
Status read_frame_into(ByteSource& source, const Frame& frame, std::vector<uint8_t>& compressed,
                       std::vector<uint8_t>& out);
// Decodes every frame and compares size and BLAKE2b-256 with the header.
Status verify_payload(ByteSource& source, const PayloadHeader& header, const SeekTable& table);

// Incremental BLAKE2b-256 (libsodium crypto_generichash, unkeyed: what `b2sum -l 256` prints).
class Blake2b256 {
public:
    Blake2b256();
    void update(std::span<const uint8_t> bytes);
    std::string hex_digest();

private:
    alignas(64) unsigned char state_[384];
};

// BLAKE2b-256 of a whole open file, read with pread (no effect on its offset).
Result<std::string> hash_fd(int fd, uint64_t size);

}  // namespace tiercel::hsm
