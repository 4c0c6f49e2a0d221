#include "tiercel/pool/meta_format.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "tiercel/codec/checksum.hpp"
#include "tiercel/pool/meta_endian.hpp"

namespace tiercel::pool {

std::string uuid_to_string(const PoolUuid& uuid) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < uuid.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out += '-';
        out += hex[uuid[i] >> 4];
        out += hex[uuid[i] & 0xf];
    }
    return out;
}

namespace meta {

std::uint32_t crc_of(std::string_view bytes, std::uint32_t previous) {
    return codec::crc32c({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, previous);
}

// ---- file header: magic[8] version[4] kind[4] uuid[16] start_seq[8] crc[4] = 44 bytes

std::string encode_file_header(const FileHeader& header) {
    std::string out(kMagic);
    put_u32(out, kFormatVersion);
    put_u32(out, static_cast<std::uint32_t>(header.kind));
    out.append(reinterpret_cast<const char*>(header.pool.data()), header.pool.size());
    put_u64(out, header.start_sequence);
    put_u32(out, crc_of(out));
    return out;
}

std::optional<FileHeader> parse_file_header(std::string_view file, FormatFault& fault) {
    fault.offset = 0;
    if (file.size() < kFileHeaderSize) {
        fault.reason = "file is " + std::to_string(file.size()) + " bytes, shorter than the 44-byte header";
        return std::nullopt;
    }
    if (file.substr(0, 8) != kMagic) {
        fault.reason = "bad magic (not a Tiercel metadata file)";
        return std::nullopt;
    }
    if (get_u32(file, 40) != crc_of(file.substr(0, 40))) {
        fault.reason = "header checksum mismatch";
        return std::nullopt;
    }
    const std::uint32_t version = get_u32(file, 8);
    if (version != kFormatVersion) {
        fault.offset = 8;
        fault.reason = "unsupported format version " + std::to_string(version);
        return std::nullopt;
    }
    const std::uint32_t kind = get_u32(file, 12);
    if (kind != static_cast<std::uint32_t>(FileKind::checkpoint) && kind != static_cast<std::uint32_t>(FileKind::log)) {
        fault.offset = 12;
        fault.reason = "unknown file kind " + std::to_string(kind);
        return std::nullopt;
    }
    FileHeader header;
    header.kind = static_cast<FileKind>(kind);
    std::memcpy(header.pool.data(), file.data() + 16, header.pool.size());
    header.start_sequence = get_u64(file, 32);
    return header;
}

// ---- names

static std::string numbered_path(std::string_view stem, std::uint64_t seq) {
    char digits[21];
    std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(seq));
    return std::string(kDir) + "/" + std::string(stem) + "." + digits;
}

std::string checkpoint_path(std::uint64_t seq) { return numbered_path("checkpoint", seq); }
std::string log_path(std::uint64_t seq) { return numbered_path("log", seq); }

std::optional<MetaFileName> parse_file_name(std::string_view name) {
    FileKind kind;
    std::string_view digits;
    if (name.starts_with("checkpoint.")) {
        kind = FileKind::checkpoint;
        digits = name.substr(11);
    } else if (name.starts_with("log.")) {
        kind = FileKind::log;
        digits = name.substr(4);
    } else {
        return std::nullopt;
    }
    if (digits.size() != 20)
        return std::nullopt;
    std::uint64_t seq = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    if (ec != std::errc() || end != digits.data() + digits.size())
        return std::nullopt;
    return MetaFileName{kind, seq};
}

// ---- records: length[4] seq[8] crc[4] payload[length]; crc covers length, seq and payload

static std::uint32_t record_crc(std::string_view length_and_seq, std::string_view payload) {
    return crc_of(payload, crc_of(length_and_seq));
}

void append_record(std::string& out, std::uint64_t sequence, std::string_view batch_payload) {
    const std::size_t start = out.size();
    put_u32(out, static_cast<std::uint32_t>(batch_payload.size()));
    put_u64(out, sequence);
    const std::uint32_t crc = record_crc(std::string_view(out).substr(start, 12), batch_payload);
    put_u32(out, crc);
    out.append(batch_payload);
}

std::optional<RecordView> parse_record(std::string_view file, std::uint64_t offset, RecordStop& stop) {
    const std::uint64_t left = file.size() - offset;
    if (left == 0) {
        stop = RecordStop::end_of_file;
        return std::nullopt;
    }
    if (left < kRecordHeaderSize) {
        stop = RecordStop::truncated;
        return std::nullopt;
    }
    const std::uint32_t length = get_u32(file, offset);
    if (length > kMaxPayloadBytes) {
        stop = RecordStop::bad_length;
        return std::nullopt;
    }
    if (left - kRecordHeaderSize < length) {
        stop = RecordStop::truncated;
        return std::nullopt;
    }
    RecordView record;
    record.sequence = get_u64(file, offset + 4);
    record.crc = get_u32(file, offset + 12);
    record.payload = file.substr(offset + kRecordHeaderSize, length);
    if (record_crc(file.substr(offset, 12), record.payload) != record.crc) {
        stop = RecordStop::bad_checksum;
        return std::nullopt;
    }
    record.end_offset = offset + kRecordHeaderSize + length;
    stop = RecordStop::none;
    return record;
}

std::string_view describe(RecordStop stop) {
    switch (stop) {
    case RecordStop::none: return "valid";
    case RecordStop::end_of_file: return "end of file";
    case RecordStop::truncated: return "record cut short by the end of the file (torn write)";
    case RecordStop::bad_length: return "implausible record length";
    case RecordStop::bad_checksum: return "record checksum mismatch";
    }
    return "unknown";
}

}  // namespace meta
}  // namespace tiercel::pool
