// Checkpoint encoding: header, then chunks of entries, then a terminal chunk (see docs/formats.md (metadata store files) and docs/modules/meta.md).
// Chunks are ~1 MiB so a flipped bit is located to within one chunk and a reader never needs more than one chunk's
// worth of trust at a time.
#include <string>

#include "tiercel/pool/meta_endian.hpp"
#include "tiercel/pool/meta_format.hpp"

namespace tiercel::pool::meta {
namespace {

constexpr std::size_t kChunkTargetBytes = 1u << 20;

// chunk: payload_length[4] entry_count[4] crc[4] payload; crc covers length, count and payload.
std::uint32_t chunk_crc(std::string_view length_and_count, std::string_view payload) {
    return crc_of(payload, crc_of(length_and_count));
}

void append_chunk(std::string& out, std::string_view payload, std::uint32_t entry_count) {
    const std::size_t start = out.size();
    put_u32(out, static_cast<std::uint32_t>(payload.size()));
    put_u32(out, entry_count);
    put_u32(out, chunk_crc(std::string_view(out).substr(start, 8), payload));
    out.append(payload);
}

void append_entry(std::string& payload, std::string_view key, std::string_view value) {
    put_u32(payload, static_cast<std::uint32_t>(key.size()));
    payload.append(key);
    put_u32(payload, static_cast<std::uint32_t>(value.size()));
    payload.append(value);
}

// Decodes one chunk payload; false if its entries do not fill it exactly or break key order.
bool visit_chunk_entries(std::string_view payload, std::uint32_t expected_entries, std::string& previous_key,
                         bool& have_previous, const EntryVisitor& visit, std::string& why) {
    std::size_t pos = 0;
    std::uint32_t seen = 0;
    while (pos < payload.size()) {
        if (payload.size() - pos < 4) { why = "entry header cut short"; return false; }
        const std::uint32_t key_len = get_u32(payload, pos);
        pos += 4;
        if (payload.size() - pos < key_len + std::size_t{4}) { why = "entry key overruns its chunk"; return false; }
        const std::string_view key = payload.substr(pos, key_len);
        pos += key_len;
        const std::uint32_t value_len = get_u32(payload, pos);
        pos += 4;
        if (payload.size() - pos < value_len) { why = "entry value overruns its chunk"; return false; }
        const std::string_view value = payload.substr(pos, value_len);
        pos += value_len;
        if (have_previous && !(previous_key < key)) { why = "entries out of key order"; return false; }
        previous_key.assign(key);
        have_previous = true;
        if (visit)
            visit(key, value);
        ++seen;
    }
    if (seen != expected_entries) { why = "chunk entry count does not match its entries"; return false; }
    return true;
}

}  // namespace

std::string encode_checkpoint(const PoolUuid& pool, std::uint64_t sequence, const MetaMap& state) {
    std::string out = encode_file_header({FileKind::checkpoint, pool, sequence});
    std::string payload;
    std::uint32_t in_chunk = 0;
    for (const auto& [key, value] : state) {
        append_entry(payload, key, value);
        ++in_chunk;
        if (payload.size() >= kChunkTargetBytes) {
            append_chunk(out, payload, in_chunk);
            payload.clear();
            in_chunk = 0;
        }
    }
    if (in_chunk > 0)
        append_chunk(out, payload, in_chunk);
    // The terminal chunk carries the total so a checkpoint that lost whole chunks at its end is caught.
    append_chunk(out, {}, static_cast<std::uint32_t>(state.size()));
    return out;
}

std::optional<CheckpointSummary> parse_checkpoint(std::string_view file, const EntryVisitor& visit,
                                                  FormatFault& fault) {
    auto header = parse_file_header(file, fault);
    if (!header)
        return std::nullopt;
    if (header->kind != FileKind::checkpoint) {
        fault = {12, "not a checkpoint file"};
        return std::nullopt;
    }
    CheckpointSummary summary;
    summary.sequence = header->start_sequence;
    std::string previous_key;
    bool have_previous = false;
    std::uint64_t offset = kFileHeaderSize;
    while (true) {
        if (file.size() - offset < kChunkHeaderSize) {
            fault = {offset, "checkpoint ends without its terminal chunk"};
            return std::nullopt;
        }
        const std::uint32_t length = get_u32(file, offset);
        const std::uint32_t count = get_u32(file, offset + 4);
        const std::uint32_t stored_crc = get_u32(file, offset + 8);
        if (length > kMaxPayloadBytes || file.size() - offset - kChunkHeaderSize < length) {
            fault = {offset, "chunk length runs past the end of the file"};
            return std::nullopt;
        }
        const std::string_view payload = file.substr(offset + kChunkHeaderSize, length);
        if (chunk_crc(file.substr(offset, 8), payload) != stored_crc) {
            fault = {offset, "chunk checksum mismatch"};
            return std::nullopt;
        }
        summary.digest = crc_of(file.substr(offset + 8, 4), summary.digest);
        const std::uint64_t chunk_offset = offset;
        offset += kChunkHeaderSize + length;
        if (length == 0) {
            if (count != summary.entries) {
                fault = {chunk_offset, "terminal chunk counts " + std::to_string(count) + " entries, found " +
                                           std::to_string(summary.entries)};
                return std::nullopt;
            }
            if (offset != file.size()) {
                fault = {offset, "bytes after the terminal chunk"};
                return std::nullopt;
            }
            return summary;
        }
        std::string why;
        if (!visit_chunk_entries(payload, count, previous_key, have_previous, visit, why)) {
            fault = {chunk_offset, why};
            return std::nullopt;
        }
        summary.entries += count;
    }
}

}  // namespace tiercel::pool::meta
