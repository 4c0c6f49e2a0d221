// The HSM payload format: header skippable frame, independent ~1 MiB zstd frames, seek-table skippable frame.
#include "tiercel/hsm/payload.hpp"

#include <unistd.h>

#include <cstring>
#include <memory>

#include <sodium.h>
#include <zstd.h>

namespace tiercel::hsm {
namespace {

void put_u32(std::vector<uint8_t>& out, uint32_t value) {
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

uint32_t get_u32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

std::string base64(const std::string& raw) {
    std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.resize(std::strlen(out.c_str()));
    return out;
}

Result<std::string> unbase64(const std::string& text) {
    std::string out(text.size(), '\0');
    size_t length = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                          &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
        return make_error(Errc::corruption, "payload header: an xattr value is not base64");
    out.resize(length);
    return out;
}

Status pread_full(int fd, uint8_t* out, size_t length, uint64_t offset) {
    size_t done = 0;
    while (done < length) {
        ssize_t n = ::pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return Error::from_errno(errno, "reading the file to archive");
        if (n == 0)
            return make_error(Errc::busy, "the file shrank while it was being archived");
        done += static_cast<size_t>(n);
    }
    return {};
}

std::vector<uint8_t> skippable_frame(uint32_t magic, const std::vector<uint8_t>& content) {
    std::vector<uint8_t> frame;
    put_u32(frame, magic);
    put_u32(frame, static_cast<uint32_t>(content.size()));
    frame.insert(frame.end(), content.begin(), content.end());
    return frame;
}

Result<std::vector<uint8_t>> compress_frame(ZSTD_CCtx* context, std::span<const uint8_t> raw) {
    std::vector<uint8_t> out(ZSTD_compressBound(raw.size()));
    size_t n = ZSTD_compress2(context, out.data(), out.size(), raw.data(), raw.size());
    if (ZSTD_isError(n))
        return make_error(Errc::internal, std::string("zstd: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

}  // namespace

Blake2b256::Blake2b256() {
    static_assert(sizeof(state_) == sizeof(crypto_generichash_state));
    crypto_generichash_init(reinterpret_cast<crypto_generichash_state*>(state_), nullptr, 0, 32);
}

void Blake2b256::update(std::span<const uint8_t> bytes) {
    crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(state_), bytes.data(), bytes.size());
}

std::string Blake2b256::hex_digest() {
    unsigned char digest[32];
    crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(state_), digest, sizeof digest);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return hex;
}

Result<std::string> hash_fd(int fd, uint64_t size) {
    Blake2b256 hash;
    std::vector<uint8_t> buffer(1 << 20);
    for (uint64_t offset = 0; offset < size;) {
        size_t length = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - offset));
        TIERCEL_TRY(pread_full(fd, buffer.data(), length, offset));
        hash.update({buffer.data(), length});
        offset += length;
    }
    return hash.hex_digest();
}

nlohmann::json header_to_json(const PayloadHeader& header) {
    nlohmann::json xattrs = nlohmann::json::object();
    for (const auto& [name, value] : header.xattrs)
        xattrs[name] = base64(value);
    return {{"format", "tiercel-hsm-payload"}, {"format_version", 1},   {"path", header.path},
            {"size", header.size},             {"mode", header.mode},   {"uid", header.uid},
            {"gid", header.gid},               {"atime_ns", header.atime_ns}, {"mtime_ns", header.mtime_ns},
            {"ctime_ns", header.ctime_ns},     {"xattrs", xattrs},      {"blake2b_256", header.blake2b},
            {"file_id", header.file_id},       {"version", header.version}, {"frame_size", header.frame_size}};
}

Result<PayloadHeader> header_from_json(const nlohmann::json& json) {
    try {
        if (json.at("format") != "tiercel-hsm-payload" || json.at("format_version") != 1)
            return make_error(Errc::corruption, "payload header: unknown format or version");
        PayloadHeader header;
        header.path = json.at("path");
        header.size = json.at("size");
        header.mode = json.at("mode");
        header.uid = json.at("uid");
        header.gid = json.at("gid");
        header.atime_ns = json.at("atime_ns");
        header.mtime_ns = json.at("mtime_ns");
        header.ctime_ns = json.at("ctime_ns");
        header.blake2b = json.at("blake2b_256");
        header.file_id = json.at("file_id");
        header.version = json.at("version");
        header.frame_size = json.at("frame_size");
        for (const auto& [name, value] : json.at("xattrs").items()) {
            TIERCEL_ASSIGN(header.xattrs[name], unbase64(value.get<std::string>()));
        }
        if (header.frame_size == 0)
            return make_error(Errc::corruption, "payload header: frame_size is 0");
        return header;
    } catch (const nlohmann::json::exception& e) {
        return make_error(Errc::corruption, std::string("payload header: ") + e.what());
    }
}

std::pair<size_t, size_t> SeekTable::covering(uint64_t offset, uint64_t length) const {
    size_t first = frames.size(), last = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
        const Frame& frame = frames[i];
        if (frame.raw_offset + frame.raw_size > offset && frame.raw_offset < offset + length) {
            first = std::min(first, i);
            last = i + 1;
        }
    }
    if (first >= last)
        return {0, 0};
    return {first, last};
}

Result<WrittenPayload> write_payload(int fd, PayloadHeader header, ByteSink& sink, int level) {
    TIERCEL_ASSIGN(header.blake2b, hash_fd(fd, header.size));
    auto header_text = header_to_json(header).dump();
    auto header_frame = skippable_frame(header_frame_magic, std::vector<uint8_t>(header_text.begin(), header_text.end()));
    TIERCEL_TRY(sink.write(header_frame));

    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> context(ZSTD_createCCtx(), ZSTD_freeCCtx);
    ZSTD_CCtx_setParameter(context.get(), ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(context.get(), ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(context.get(), ZSTD_c_contentSizeFlag, 1);

    WrittenPayload written;
    written.payload_size = header_frame.size();
    Blake2b256 recheck;
    std::vector<uint8_t> raw(header.frame_size);
    std::vector<uint8_t> table;
    for (uint64_t offset = 0; offset < header.size || (header.size == 0 && written.table.frames.empty());) {
        size_t length = static_cast<size_t>(std::min<uint64_t>(raw.size(), header.size - offset));
        TIERCEL_TRY(pread_full(fd, raw.data(), length, offset));
        recheck.update({raw.data(), length});
        TIERCEL_ASSIGN(auto compressed, compress_frame(context.get(), {raw.data(), length}));
        TIERCEL_TRY(sink.write(compressed));
        written.table.frames.push_back({written.payload_size, static_cast<uint32_t>(compressed.size()), offset,
                                        static_cast<uint32_t>(length)});
        put_u32(table, static_cast<uint32_t>(compressed.size()));
        put_u32(table, static_cast<uint32_t>(length));
        written.payload_size += compressed.size();
        offset += length;
        if (header.size == 0)
            break;
    }
    if (recheck.hex_digest() != header.blake2b)
        return make_error(Errc::busy, "the file changed while it was being archived (content differs between passes)");
    put_u32(table, static_cast<uint32_t>(written.table.frames.size()));
    table.push_back(0);  // descriptor: no per-frame checksums (each zstd frame carries its own)
    put_u32(table, seek_footer_magic);
    auto seek_frame = skippable_frame(seek_frame_magic, table);
    TIERCEL_TRY(sink.write(seek_frame));
    written.payload_size += seek_frame.size();
    written.header = std::move(header);
    return written;
}

Result<PayloadHeader> read_header(ByteSource& source) {
    uint8_t prefix[8];
    if (source.size() < 8)
        return make_error(Errc::corruption, "payload is shorter than its header");
    TIERCEL_TRY(source.read_at(0, prefix));
    if (get_u32(prefix) != header_frame_magic)
        return make_error(Errc::corruption, "payload does not start with a Tiercel header frame");
    uint32_t length = get_u32(prefix + 4);
    if (8 + uint64_t(length) > source.size())
        return make_error(Errc::corruption, "payload header frame runs past the end");
    std::string text(length, '\0');
    TIERCEL_TRY(source.read_at(8, {reinterpret_cast<uint8_t*>(text.data()), length}));
    auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded())
        return make_error(Errc::corruption, "payload header is not JSON");
    return header_from_json(json);
}

Result<SeekTable> read_seek_table(ByteSource& source) {
    uint64_t size = source.size();
    uint8_t footer[9];
    if (size < 8 + 9 + 8)
        return make_error(Errc::corruption, "payload too short for a seek table");
    TIERCEL_TRY(source.read_at(size - 9, footer));
    if (get_u32(footer + 5) != seek_footer_magic)
        return make_error(Errc::corruption, "payload has no seek table footer");
    uint64_t count = get_u32(footer);
    uint64_t table_bytes = count * 8 + 9;
    if (table_bytes + 8 > size)
        return make_error(Errc::corruption, "seek table larger than the payload");
    std::vector<uint8_t> table(table_bytes + 8);
    TIERCEL_TRY(source.read_at(size - table.size(), table));
    if (get_u32(table.data()) != seek_frame_magic || get_u32(table.data() + 4) != table_bytes)
        return make_error(Errc::corruption, "seek table frame header is wrong");
    uint8_t prefix[8];
    TIERCEL_TRY(source.read_at(0, prefix));
    SeekTable result;
    uint64_t payload_offset = 8 + uint64_t(get_u32(prefix + 4)), raw_offset = 0;
    for (uint64_t i = 0; i < count; ++i) {
        const uint8_t* entry = table.data() + 8 + i * 8;
        Frame frame{payload_offset, get_u32(entry), raw_offset, get_u32(entry + 4)};
        payload_offset += frame.compressed_size;
        raw_offset += frame.raw_size;
        result.frames.push_back(frame);
    }
    if (payload_offset != size - table.size())
        return make_error(Errc::corruption, "seek table does not add up to the payload size");
    return result;
}

Status read_frame_into(ByteSource& source, const Frame& frame, std::vector<uint8_t>& compressed,
                       std::vector<uint8_t>& out) {
    thread_local std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> context(ZSTD_createDCtx(), ZSTD_freeDCtx);
    compressed.resize(frame.compressed_size);
    TIERCEL_TRY(source.read_at(frame.payload_offset, compressed));
    out.resize(frame.raw_size);
    size_t n = ZSTD_decompressDCtx(context.get(), out.data(), out.size(), compressed.data(), compressed.size());
    if (ZSTD_isError(n))
        return make_error(Errc::corruption, "payload frame at " + std::to_string(frame.payload_offset) + ": " +
                                                ZSTD_getErrorName(n));
    if (n != frame.raw_size)
        return make_error(Errc::corruption, "payload frame at " + std::to_string(frame.payload_offset) +
                                                " decodes to the wrong size");
    return {};
}

Result<std::vector<uint8_t>> read_frame(ByteSource& source, const Frame& frame) {
    std::vector<uint8_t> compressed, raw;
    TIERCEL_TRY(read_frame_into(source, frame, compressed, raw));
    return raw;
}

Status verify_payload(ByteSource& source, const PayloadHeader& header, const SeekTable& table) {
    Blake2b256 hash;
    uint64_t total = 0;
    std::vector<uint8_t> compressed, raw;
    for (const Frame& frame : table.frames) {
        TIERCEL_TRY(read_frame_into(source, frame, compressed, raw));
        hash.update(raw);
        total += raw.size();
    }
    if (total != header.size)
        return make_error(Errc::corruption, "payload holds " + std::to_string(total) + " bytes, header says " +
                                                std::to_string(header.size));
    if (hash.hex_digest() != header.blake2b)
        return make_error(Errc::corruption, "payload content does not match its BLAKE2b-256");
    return {};
}

}  // namespace tiercel::hsm
