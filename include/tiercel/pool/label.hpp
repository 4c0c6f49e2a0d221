// Contract: the label that marks a directory as a member disk of one pool (docs/formats.md, "Disk label").
// The file "tiercel.label" at the disk root is a text line "TIERCEL-LABEL 1 <crc32c of the JSON, 8 hex>\n" followed
// by one JSON object. read_label() distinguishes: no label (Errc::not_found), a damaged label (Errc::corruption,
// saying which check failed), and a label of a format this build does not know (Errc::invalid_input).
// Labels are written with Disk::write_file(sync=true), so a crash leaves the old label or the new one.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "tiercel/codec/aead.hpp"
#include "tiercel/core/error.hpp"
#include "tiercel/io/disk.hpp"
#include "tiercel/pool/meta_format.hpp"

namespace tiercel::pool {

inline constexpr std::string_view kLabelPath = "tiercel.label";

struct EncryptionParams {
    codec::KdfParams kdf;
    codec::KeyCheckValue key_check{};
};

struct DiskLabel {
    PoolUuid pool_uuid{};
    std::string pool_name;
    uint32_t disk_id = 0;
    std::string disk_uuid;
    int k = 0;
    int m = 0;
    uint64_t chunk_size = 0;
    int64_t created_unix = 0;
    std::optional<EncryptionParams> encryption;
};

std::string encode_label(const DiskLabel& label);
Result<DiskLabel> decode_label(std::string_view text, std::string_view where);
Result<DiskLabel> read_label(io::Disk& disk);
Status write_label(io::Disk& disk, const DiskLabel& label);
// Makes a directory a member disk: the 256 shard directories, then the label, each made durable. The label comes
// last, so a crash never leaves a labelled disk without its shard directories.
Status format_member_disk(io::Disk& disk, const DiskLabel& label);

PoolUuid random_uuid();
Result<PoolUuid> parse_uuid(std::string_view text);

}  // namespace tiercel::pool
