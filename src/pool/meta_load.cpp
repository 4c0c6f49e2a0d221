// Rebuilding the in-memory map from a replica's valid prefix, as found by scan_replica().
#include "tiercel/pool/meta_batch.hpp"
#include "tiercel/pool/meta_scan.hpp"

namespace tiercel::pool::meta {
namespace {

Result<std::string> read_text(io::Disk& disk, const std::string& path) {
    auto bytes = disk.read_file(path);
    if (!bytes.ok())
        return bytes.error().context("loading metadata from " + disk.name());
    return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

Error changed_since_scan(const io::Disk& disk, const std::string& path, std::uint64_t offset, std::string_view why) {
    return make_error(Errc::corruption, disk.name() + ": " + path + " at offset " + std::to_string(offset) +
                                            ": " + std::string(why) + " (the file changed after it was scanned)");
}

Status load_checkpoint(const ReplicaScan& scan, MetaMap& state) {
    TIERCEL_ASSIGN(std::string file, read_text(*scan.disk, scan.checkpoint_file));
    FormatFault fault;
    // Entries arrive in key order, so inserting at the end is amortised O(1) and keeps loading 1M keys fast.
    auto summary = parse_checkpoint(
        file, [&state](std::string_view key, std::string_view value) { state.emplace_hint(state.end(), key, value); },
        fault);
    if (!summary || summary->sequence != *scan.checkpoint_sequence || summary->digest != scan.checkpoint_digest)
        return changed_since_scan(*scan.disk, scan.checkpoint_file, fault.offset, summary ? "digest" : fault.reason);
    return {};
}

Status load_segment(const ReplicaScan& scan, const LogSegment& segment, MetaMap& state) {
    TIERCEL_ASSIGN(std::string file, read_text(*scan.disk, segment.path));
    if (file.size() < segment.valid_end)
        return changed_since_scan(*scan.disk, segment.path, file.size(), "file is shorter than its valid prefix");
    std::uint64_t offset = kFileHeaderSize;
    std::uint64_t expected = segment.start_sequence + 1;
    while (offset < segment.valid_end) {
        RecordStop stop = RecordStop::none;
        auto record = parse_record(file, offset, stop);
        if (!record || record->sequence != expected)
            return changed_since_scan(*scan.disk, segment.path, offset, describe(stop));
        const std::string where = scan.disk->name() + ": " + segment.path + " sequence " + std::to_string(expected);
        TIERCEL_TRY(apply_batch(record->payload, where, state));
        offset = record->end_offset;
        ++expected;
    }
    return {};
}

}  // namespace

Status load_replica_state(const ReplicaScan& scan, MetaMap& state) {
    if (!scan.valid_sequence || !scan.checkpoint_sequence)
        return make_error(Errc::internal, scan.disk->name() + ": no valid prefix to load");
    TIERCEL_TRY(load_checkpoint(scan, state));
    for (const auto& segment : scan.chain)
        TIERCEL_TRY(load_segment(scan, segment, state));
    return {};
}

}  // namespace tiercel::pool::meta
