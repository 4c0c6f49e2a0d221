// Contract: the few ways the metadata store changes the files of one replica, each crash-safe on its own.
//  - write_fresh_replica: leaves meta/ holding exactly checkpoint.<seq> and an empty log.<seq>. Used by rollover,
//    repair and replace_replica alike. Order: checkpoint (write_file sync=true: temp, fsync, rename, fsync dir), then
//    the log (same), then removal of every other metadata file and an fsync of meta/. A crash at any point leaves
//    either the old valid files or the new checkpoint as the newest valid one, never less than before.
//  - start_log / truncate_log / remove_files: the small in-place repairs, each durable when it returns ok.
// Errors name the disk and the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tiercel/io/disk.hpp"
#include "tiercel/pool/meta_format.hpp"

namespace tiercel::pool::meta {

Status write_fresh_replica(io::Disk& disk, const PoolUuid& pool, std::uint64_t sequence,
                           std::string_view encoded_checkpoint);

// Creates log.<sequence> holding only its header, durably (file and directory entry).
Status start_log(io::Disk& disk, const PoolUuid& pool, std::uint64_t sequence);

// Cuts `path` to `size` bytes and fsyncs it, so appends continue right after the last valid record.
Status truncate_log(io::Disk& disk, const std::string& path, std::uint64_t size);

// Removes the given metadata files and fsyncs meta/.
Status remove_files(io::Disk& disk, const std::vector<std::string>& paths);

}  // namespace tiercel::pool::meta
