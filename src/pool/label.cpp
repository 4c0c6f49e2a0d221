#include "tiercel/pool/label.hpp"

#include <sodium.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "tiercel/codec/checksum.hpp"

namespace tiercel::pool {
namespace {

constexpr std::string_view kLabelMagic = "TIERCEL-LABEL";
constexpr int kLabelFormat = 1;

std::string to_hex(const uint8_t* data, size_t size) {
    std::string out(size * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), data, size);
    out.pop_back();
    return out;
}

template <size_t N>
bool from_hex(const std::string& text, std::array<uint8_t, N>& out) {
    size_t length = 0;
    return text.size() == 2 * N &&
           sodium_hex2bin(out.data(), N, text.data(), text.size(), nullptr, &length, nullptr) == 0 && length == N;
}

uint32_t label_crc(std::string_view json) {
    return codec::crc32c(codec::ByteView(reinterpret_cast<const uint8_t*>(json.data()), json.size()));
}

nlohmann::json encryption_json(const EncryptionParams& params) {
    return {{"kdf", "argon2id13"},
            {"salt", to_hex(params.kdf.salt.data(), params.kdf.salt.size())},
            {"opslimit", params.kdf.opslimit},
            {"memlimit", params.kdf.memlimit},
            {"key_check", to_hex(params.key_check.data(), params.key_check.size())}};
}

Result<EncryptionParams> parse_encryption(const nlohmann::json& json, std::string_view where) {
    EncryptionParams params;
    auto bad = [&](std::string_view what) {
        return make_error(Errc::corruption, "label " + std::string(where) + ": encryption: " + std::string(what));
    };
    if (json.value("kdf", "") != "argon2id13")
        return bad("unknown key derivation '" + json.value("kdf", "") + "'");
    if (!from_hex(json.value("salt", ""), params.kdf.salt))
        return bad("salt is not 32 hex digits");
    if (!from_hex(json.value("key_check", ""), params.key_check))
        return bad("key_check is not 64 hex digits");
    params.kdf.opslimit = json.value("opslimit", uint64_t{0});
    params.kdf.memlimit = json.value("memlimit", uint64_t{0});
    if (!codec::validate_kdf_params(params.kdf))
        return bad("key derivation limits out of range");
    return params;
}

}  // namespace

Status format_member_disk(io::Disk& disk, const DiskLabel& label) {
    for (unsigned bucket = 0; bucket < 256; ++bucket) {
        char dir[16];
        std::snprintf(dir, sizeof dir, "shards/%02x", bucket);
        TIERCEL_TRY(disk.make_dirs(dir));
    }
    TIERCEL_TRY(disk.sync_dir("shards"));
    TIERCEL_TRY(write_label(disk, label));
    return disk.sync_dir("");
}

PoolUuid random_uuid() {
    PoolUuid uuid{};
    (void)codec::ensure_sodium();
    randombytes_buf(uuid.data(), uuid.size());
    uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0f) | 0x40);  // RFC 4122 version 4
    uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3f) | 0x80);
    return uuid;
}

Result<PoolUuid> parse_uuid(std::string_view text) {
    std::string hex;
    for (char c : text)
        if (c != '-')
            hex += c;
    PoolUuid uuid{};
    if (!from_hex(hex, uuid))
        return make_error(Errc::invalid_input, "'" + std::string(text) + "' is not a UUID");
    return uuid;
}

std::string encode_label(const DiskLabel& label) {
    nlohmann::json json = {{"format", kLabelFormat},
                           {"pool_uuid", uuid_to_string(label.pool_uuid)},
                           {"pool_name", label.pool_name},
                           {"disk_id", label.disk_id},
                           {"disk_uuid", label.disk_uuid},
                           {"k", label.k},
                           {"m", label.m},
                           {"chunk_size", label.chunk_size},
                           {"created_unix", label.created_unix},
                           {"encryption", label.encryption ? encryption_json(*label.encryption) : nullptr}};
    std::string body = json.dump(2) + "\n";
    char head[64];
    std::snprintf(head, sizeof head, "%s %d %08x\n", kLabelMagic.data(), kLabelFormat, label_crc(body));
    return head + body;
}

Result<DiskLabel> decode_label(std::string_view text, std::string_view where) {
    auto corrupt = [&](std::string_view what) {
        return make_error(Errc::corruption, "label " + std::string(where) + ": " + std::string(what));
    };
    size_t newline = text.find('\n');
    if (newline == std::string_view::npos || text.substr(0, kLabelMagic.size()) != kLabelMagic)
        return corrupt("does not start with " + std::string(kLabelMagic));
    int format = 0;
    unsigned crc = 0;
    std::string head(text.substr(0, newline));
    if (std::sscanf(head.c_str(), "TIERCEL-LABEL %d %8x", &format, &crc) != 2)
        return corrupt("malformed first line '" + head + "'");
    if (format != kLabelFormat)
        return make_error(Errc::invalid_input, "label " + std::string(where) + " has format " + std::to_string(format) +
                                                   "; this tiercel reads format " + std::to_string(kLabelFormat));
    std::string_view body = text.substr(newline + 1);
    if (label_crc(body) != crc)
        return corrupt("checksum mismatch (the label was damaged)");
    nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object())
        return corrupt("body is not a JSON object");
    try {
        DiskLabel label;
        TIERCEL_ASSIGN(label.pool_uuid, parse_uuid(json.at("pool_uuid").get<std::string>()));
        label.pool_name = json.at("pool_name").get<std::string>();
        label.disk_id = json.at("disk_id").get<uint32_t>();
        label.disk_uuid = json.at("disk_uuid").get<std::string>();
        label.k = json.at("k").get<int>();
        label.m = json.at("m").get<int>();
        label.chunk_size = json.at("chunk_size").get<uint64_t>();
        label.created_unix = json.at("created_unix").get<int64_t>();
        if (label.k < 1 || label.k > 32 || label.m < 0 || label.m > 8 || label.chunk_size < 4096)
            return corrupt("impossible layout");
        if (!json.at("encryption").is_null()) {
            TIERCEL_ASSIGN(auto params, parse_encryption(json.at("encryption"), where));
            label.encryption = params;
        }
        return label;
    } catch (const nlohmann::json::exception& error) {
        return corrupt(std::string("missing or mistyped field: ") + error.what());
    }
}

Result<DiskLabel> read_label(io::Disk& disk) {
    auto bytes = disk.read_file(kLabelPath);
    if (!bytes)
        return bytes.error().code() == Errc::not_found
                   ? make_error(Errc::not_found, disk.name() + " has no tiercel label")
                   : bytes.error();
    std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    return decode_label(text, disk.name());
}

Status write_label(io::Disk& disk, const DiskLabel& label) {
    std::string text = encode_label(label);
    return disk.write_file(kLabelPath, std::as_bytes(std::span(text)), true);
}

}  // namespace tiercel::pool
