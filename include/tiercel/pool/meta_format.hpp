// Contract: the on-disk bytes of the pool metadata store (docs/formats.md (metadata store files) and docs/modules/meta.md is the byte-by-byte reference, and this
// file must agree with it). Pure encode/parse functions over memory buffers: nothing here touches a Disk, so every
// rule about what is valid lives in one place and is unit-testable.
//
// Every file under meta/ starts with a 44-byte FileHeader (magic, version, kind, pool uuid, start sequence, crc32c).
// A log file then holds records (length, sequence, crc32c, encoded batch); a checkpoint holds chunks of key/value
// entries ending with a terminal chunk. All integers are little-endian. Parsers never trust a length before checking
// it against the bytes that are really there, and report the byte offset where a file stops being valid.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tiercel/core/error.hpp"

namespace tiercel::pool {

// The 16-byte pool uuid every metadata file is stamped with, so files of another pool are never mistaken for ours.
using PoolUuid = std::array<std::uint8_t, 16>;
std::string uuid_to_string(const PoolUuid& uuid);

// The in-memory key→value map. Transparent comparator so lookups by string_view do not allocate.
using MetaMap = std::map<std::string, std::string, std::less<>>;

using ByteView = std::span<const std::byte>;
inline ByteView as_byte_view(std::string_view text) {
    return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}
inline std::string_view as_string_view(ByteView bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

namespace meta {

inline constexpr std::string_view kMagic = "TIERMETA";
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kFileHeaderSize = 44;
inline constexpr std::size_t kRecordHeaderSize = 16;
inline constexpr std::size_t kChunkHeaderSize = 12;
// A record or chunk claiming more than this is treated as damage, not as a reason to allocate.
inline constexpr std::uint32_t kMaxPayloadBytes = 1u << 30;
inline constexpr std::string_view kDir = "meta";

enum class FileKind : std::uint32_t { checkpoint = 1, log = 2 };

struct FileHeader {
    FileKind kind = FileKind::log;
    PoolUuid pool{};
    std::uint64_t start_sequence = 0;  // checkpoint: state after this sequence; log: first record is this + 1
};

std::string encode_file_header(const FileHeader& header);

// Why a parse stopped; `offset` is the byte offset within the file where the invalid part begins.
struct FormatFault {
    std::uint64_t offset = 0;
    std::string reason;
};

// Parses the first kFileHeaderSize bytes. Does not check the uuid: the caller decides what a foreign pool means.
std::optional<FileHeader> parse_file_header(std::string_view file, FormatFault& fault);

// ---- file names: meta/checkpoint.<seq> and meta/log.<seq>, seq zero-padded to 20 digits so names sort by seq.
std::string checkpoint_path(std::uint64_t seq);
std::string log_path(std::uint64_t seq);
struct MetaFileName {
    FileKind kind;
    std::uint64_t sequence;
};
// Recognises a bare entry name from list("meta"); anything else (temp files of write_file, strays) is nullopt.
std::optional<MetaFileName> parse_file_name(std::string_view name);

// ---- log records
// Appends one framed record to `out`.
void append_record(std::string& out, std::uint64_t sequence, std::string_view batch_payload);

struct RecordView {
    std::uint64_t sequence = 0;
    std::uint32_t crc = 0;  // the stored (and verified) record crc; equal bytes on two replicas have equal crcs
    std::string_view payload;
    std::uint64_t end_offset = 0;  // offset just past this record
};

enum class RecordStop { none, end_of_file, truncated, bad_length, bad_checksum };

// Parses the record at `offset`. Returns it when complete and its crc matches; otherwise sets `stop` (end_of_file
// when offset is exactly the end, truncated when the file ends inside the record).
std::optional<RecordView> parse_record(std::string_view file, std::uint64_t offset, RecordStop& stop);
std::string_view describe(RecordStop stop);

// ---- checkpoints
// Encodes a complete checkpoint file (header + chunks + terminal chunk) of `state` as of `sequence`.
std::string encode_checkpoint(const PoolUuid& pool, std::uint64_t sequence, const MetaMap& state);

struct CheckpointSummary {
    std::uint64_t sequence = 0;
    std::uint64_t entries = 0;
    std::uint32_t digest = 0;  // crc32c chained over every chunk crc: equal files have equal digests
};

using EntryVisitor = std::function<void(std::string_view key, std::string_view value)>;

// Validates a whole checkpoint file (header already parsed by the caller or not: this re-parses it), calling `visit`
// for each entry in key order when given. On failure returns nullopt and fills `fault` with the first bad offset.
std::optional<CheckpointSummary> parse_checkpoint(std::string_view file, const EntryVisitor& visit,
                                                  FormatFault& fault);

}  // namespace meta
}  // namespace tiercel::pool
