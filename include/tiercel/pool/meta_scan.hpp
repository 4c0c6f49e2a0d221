// Contract: read-only inspection of one metadata replica (the meta/ directory of one Disk). scan_replica() finds the
// newest checkpoint that validates, replays the chain of logs after it without building any state, and stops at the
// first record that is torn, fails its checksum, does not decode or breaks the +1 sequence: what it returns is that
// replica's valid prefix plus the first fault it met (file, byte offset, reason) and every record's crc so replicas
// can be compared. It never writes. load_replica_state() then rebuilds the map from exactly that prefix.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tiercel/io/disk.hpp"
#include "tiercel/pool/meta_format.hpp"

namespace tiercel::pool::meta {

struct LogSegment {
    std::string path;
    std::uint64_t start_sequence = 0;
    std::uint64_t last_sequence = 0;  // sequence of the last valid record (start_sequence when it has none)
    std::uint64_t valid_end = 0;      // byte offset just past the last valid record
    std::uint64_t file_size = 0;
};

enum class Presence {
    present,      // has metadata files of this pool
    empty,        // meta/ is missing or holds no metadata files
    unreadable,   // the directory could not be listed
    foreign,      // holds metadata files stamped with another pool's uuid
};

struct ReplicaScan {
    io::DiskPtr disk;
    Presence presence = Presence::empty;
    std::string presence_detail;

    std::optional<std::uint64_t> checkpoint_sequence;  // the newest checkpoint that validates
    std::string checkpoint_file;
    std::uint64_t checkpoint_bytes = 0;
    std::uint32_t checkpoint_digest = 0;
    std::vector<LogSegment> chain;                 // logs replayed after the checkpoint, in order
    std::optional<std::uint64_t> valid_sequence;   // end of the valid prefix; nullopt when nothing validates

    // The first fault met, if any. torn_tail: the fault is an incomplete last record of the newest log, what a crash
    // during an append leaves behind; anything else is damage (bit rot, lost files, a broken sequence).
    bool damaged = false;
    bool torn_tail = false;
    std::string fault_file;
    std::uint64_t fault_offset = 0;
    std::string fault_reason;

    // Metadata files the valid prefix does not use: newer ones that cannot be reached past a fault, and older ones
    // left by an interrupted rollover or repair.
    bool has_unreachable_files = false;
    std::vector<std::string> leftover_files;

    std::map<std::uint64_t, std::uint32_t> record_crcs;  // sequence -> record crc of every valid log record

    bool has_fault() const { return damaged || torn_tail; }
    // A replica whose files need nothing more than, at most, cutting the torn tail off its newest log.
    bool usable_in_place() const { return valid_sequence && !damaged && !has_unreachable_files; }
};

ReplicaScan scan_replica(const io::DiskPtr& disk, const PoolUuid& pool);

// Rebuilds the state of `scan`'s valid prefix into `state` (which must be empty). Re-verifies every checksum, so a
// file that changed since the scan is reported as Errc::corruption rather than loaded.
Status load_replica_state(const ReplicaScan& scan, MetaMap& state);

// Where two replicas hold the same sequence with different bytes: the first such sequence, or nullopt.
std::optional<std::uint64_t> first_disagreement(const ReplicaScan& a, const ReplicaScan& b);

}  // namespace tiercel::pool::meta
