// Replica inspection: find the valid prefix of one replica without changing it.
#include "tiercel/pool/meta_scan.hpp"

#include "tiercel/pool/meta_batch.hpp"
#include "tiercel/pool/meta_endian.hpp"

namespace tiercel::pool::meta {
namespace {

struct Listing {
    std::map<std::uint64_t, std::string> checkpoints;  // sequence -> path
    std::map<std::uint64_t, std::string> logs;
};

std::string where(const io::Disk& disk, std::string_view path) { return disk.name() + ": " + std::string(path); }

void note_fault(ReplicaScan& scan, std::string file, std::uint64_t offset, std::string reason, bool torn = false) {
    if (scan.has_fault())
        return;  // the first fault is the one that bounds the valid prefix; later ones are consequences
    scan.damaged = !torn;
    scan.torn_tail = torn;
    scan.fault_file = std::move(file);
    scan.fault_offset = offset;
    scan.fault_reason = std::move(reason);
}

// Reads every file's header; a valid header stamped with another pool's uuid makes the whole replica foreign.
bool detect_foreign(ReplicaScan& scan, const Listing& listing, const PoolUuid& pool) {
    auto check = [&](const std::string& path) {
        std::string header(kFileHeaderSize, '\0');
        auto got = scan.disk->read_at(path, 0, {reinterpret_cast<std::byte*>(header.data()), header.size()});
        if (!got.ok())
            return false;
        header.resize(*got);
        FormatFault fault;
        auto parsed = parse_file_header(header, fault);
        if (!parsed || parsed->pool == pool)
            return false;
        scan.presence = Presence::foreign;
        scan.presence_detail = path + " belongs to pool " + uuid_to_string(parsed->pool) + ", not to pool " +
                               uuid_to_string(pool);
        return true;
    };
    for (const auto& [seq, path] : listing.checkpoints)
        if (check(path))
            return true;
    for (const auto& [seq, path] : listing.logs)
        if (check(path))
            return true;
    return false;
}

std::optional<std::string> read_whole(ReplicaScan& scan, const std::string& path) {
    // A read error is not evidence about the bytes, and a replica judged short gets rewritten: retry transient ones.
    auto bytes = scan.disk->read_file(path);
    for (int attempt = 1; attempt < 3 && !bytes.ok() && bytes.error().code() == Errc::io_error; ++attempt)
        bytes = scan.disk->read_file(path);
    if (!bytes.ok()) {
        note_fault(scan, path, 0, "unreadable: " + bytes.error().describe());
        return std::nullopt;
    }
    return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

// Picks the newest checkpoint that validates; every newer one that fails is recorded as damage.
void choose_checkpoint(ReplicaScan& scan, const Listing& listing) {
    for (auto it = listing.checkpoints.rbegin(); it != listing.checkpoints.rend(); ++it) {
        auto file = read_whole(scan, it->second);
        if (!file)
            continue;
        FormatFault fault;
        auto summary = parse_checkpoint(*file, nullptr, fault);
        if (summary && summary->sequence != it->first) {
            fault = {32, "header sequence " + std::to_string(summary->sequence) + " does not match the file name"};
            summary.reset();
        }
        if (!summary) {
            note_fault(scan, it->second, fault.offset, fault.reason);
            continue;
        }
        scan.checkpoint_sequence = it->first;
        scan.checkpoint_file = it->second;
        scan.checkpoint_digest = summary->digest;
        scan.checkpoint_bytes = file->size();
        return;
    }
}

bool is_torn(std::string_view file, std::uint64_t offset, RecordStop stop) {
    if (stop == RecordStop::truncated)
        return true;
    // A bad checksum on a record that runs exactly to the end of the file is what a torn append looks like.
    return stop == RecordStop::bad_checksum && offset + kRecordHeaderSize + get_u32(file, offset) == file.size();
}

enum class LogEnd { clean, stopped, bad_header };

// Replays one log's records after `segment.start_sequence`, filling in how far they are valid.
LogEnd replay_log(ReplicaScan& scan, std::string_view file, LogSegment& segment, bool newest_log) {
    FormatFault fault;
    auto header = parse_file_header(file, fault);
    if (header && (header->kind != FileKind::log || header->start_sequence != segment.start_sequence)) {
        fault = {12, "header does not describe a log starting after sequence " +
                         std::to_string(segment.start_sequence)};
        header.reset();
    }
    if (!header) {
        note_fault(scan, segment.path, fault.offset, fault.reason);
        return LogEnd::bad_header;
    }
    std::uint64_t offset = kFileHeaderSize;
    segment.valid_end = offset;
    segment.last_sequence = segment.start_sequence;
    while (true) {
        RecordStop stop = RecordStop::none;
        auto record = parse_record(file, offset, stop);
        if (!record) {
            if (stop == RecordStop::end_of_file)
                return LogEnd::clean;
            const bool torn = newest_log && is_torn(file, offset, stop);
            note_fault(scan, segment.path, offset, std::string(describe(stop)), torn);
            return LogEnd::stopped;
        }
        if (record->sequence != segment.last_sequence + 1) {
            note_fault(scan, segment.path, offset,
                       "sequence break: expected " + std::to_string(segment.last_sequence + 1) + ", found " +
                           std::to_string(record->sequence));
            return LogEnd::stopped;
        }
        if (auto decoded = decode_batch(record->payload, segment.path, [](const MetaOp&) {}); !decoded.ok()) {
            note_fault(scan, segment.path, offset, decoded.error().message());
            return LogEnd::stopped;
        }
        scan.record_crcs[record->sequence] = record->crc;
        segment.last_sequence = record->sequence;
        segment.valid_end = record->end_offset;
        offset = record->end_offset;
    }
}

void replay_chain(ReplicaScan& scan, const Listing& listing) {
    std::uint64_t at = *scan.checkpoint_sequence;
    scan.valid_sequence = at;
    const std::uint64_t newest_log = listing.logs.empty() ? 0 : listing.logs.rbegin()->first;
    while (true) {
        auto it = listing.logs.find(at);
        if (it == listing.logs.end())
            return;  // a checkpoint whose log was never started (crash between the two): nothing after it
        auto file = read_whole(scan, it->second);
        if (!file)
            return;
        LogSegment segment{it->second, at, at, kFileHeaderSize, file->size()};
        const LogEnd end = replay_log(scan, *file, segment, it->first == newest_log);
        if (end == LogEnd::bad_header)
            return;
        scan.chain.push_back(segment);
        scan.valid_sequence = segment.last_sequence;
        if (end != LogEnd::clean || segment.last_sequence == at)
            return;
        at = segment.last_sequence;  // an older log that ran up to a newer checkpoint's sequence continues in its log
    }
}

void classify_other_files(ReplicaScan& scan, const Listing& listing) {
    auto in_chain = [&](const std::string& path) {
        for (const auto& segment : scan.chain)
            if (segment.path == path)
                return true;
        return false;
    };
    const std::uint64_t valid = scan.valid_sequence.value_or(0);
    const bool have_prefix = scan.valid_sequence.has_value();
    for (const auto& [seq, path] : listing.checkpoints) {
        if (path == scan.checkpoint_file)
            continue;
        if (!have_prefix || seq > valid)
            scan.has_unreachable_files = true;
        else
            scan.leftover_files.push_back(path);
    }
    for (const auto& [seq, path] : listing.logs) {
        if (in_chain(path))
            continue;
        if (!have_prefix || seq >= valid)
            scan.has_unreachable_files = true;
        else
            scan.leftover_files.push_back(path);
    }
}

}  // namespace

ReplicaScan scan_replica(const io::DiskPtr& disk, const PoolUuid& pool) {
    ReplicaScan scan;
    scan.disk = disk;
    auto names = disk->list(kDir);
    if (!names.ok()) {
        scan.presence = names.error().code() == Errc::not_found ? Presence::empty : Presence::unreadable;
        scan.presence_detail = names.error().describe();
        return scan;
    }
    Listing listing;
    for (const auto& name : *names) {
        auto parsed = parse_file_name(name);
        if (!parsed)
            continue;
        auto& bucket = parsed->kind == FileKind::checkpoint ? listing.checkpoints : listing.logs;
        bucket[parsed->sequence] = std::string(kDir) + "/" + name;
    }
    if (listing.checkpoints.empty() && listing.logs.empty()) {
        scan.presence = Presence::empty;
        scan.presence_detail = "no metadata files in " + where(*disk, kDir);
        return scan;
    }
    if (detect_foreign(scan, listing, pool))
        return scan;
    scan.presence = Presence::present;
    choose_checkpoint(scan, listing);
    if (!scan.checkpoint_sequence) {
        if (!scan.has_fault())
            note_fault(scan, std::string(kDir), 0, "log files without any checkpoint");
    } else {
        replay_chain(scan, listing);
    }
    classify_other_files(scan, listing);
    return scan;
}

std::optional<std::uint64_t> first_disagreement(const ReplicaScan& a, const ReplicaScan& b) {
    std::optional<std::uint64_t> first;
    if (a.checkpoint_sequence && a.checkpoint_sequence == b.checkpoint_sequence &&
        a.checkpoint_digest != b.checkpoint_digest)
        first = *a.checkpoint_sequence;
    for (const auto& [seq, crc] : a.record_crcs) {
        auto it = b.record_crcs.find(seq);
        if (it != b.record_crcs.end() && it->second != crc) {
            if (!first || seq < *first)
                first = seq;
            break;
        }
    }
    return first;
}

}  // namespace tiercel::pool::meta
