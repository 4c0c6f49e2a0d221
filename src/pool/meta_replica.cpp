#include "tiercel/pool/meta_replica.hpp"

namespace tiercel::pool::meta {
namespace {

Error on_disk(const io::Disk& disk, const Error& error, std::string_view doing) {
    return error.context(disk.name() + ": " + std::string(doing));
}

// Every metadata file other than the pair for `keep`, as paths.
Result<std::vector<std::string>> files_except(io::Disk& disk, std::uint64_t keep) {
    auto names = disk.list(kDir);
    if (!names.ok())
        return on_disk(disk, names.error(), "listing meta/");
    std::vector<std::string> doomed;
    for (const auto& name : *names) {
        auto parsed = parse_file_name(name);
        if (parsed && parsed->sequence != keep)
            doomed.push_back(std::string(kDir) + "/" + name);
    }
    return doomed;
}

}  // namespace

Status write_fresh_replica(io::Disk& disk, const PoolUuid& pool, std::uint64_t sequence,
                           std::string_view encoded_checkpoint) {
    if (auto made = disk.make_dirs(kDir); !made.ok())
        return on_disk(disk, made.error(), "creating meta/");
    const std::string checkpoint = checkpoint_path(sequence);
    if (auto written = disk.write_file(checkpoint, as_byte_view(encoded_checkpoint), true); !written.ok())
        return on_disk(disk, written.error(), "writing " + checkpoint);
    TIERCEL_TRY(start_log(disk, pool, sequence));
    // Only now that the new pair is durable may the old files go: until here they were the valid state.
    TIERCEL_ASSIGN(auto doomed, files_except(disk, sequence));
    return remove_files(disk, doomed);
}

Status start_log(io::Disk& disk, const PoolUuid& pool, std::uint64_t sequence) {
    const std::string path = log_path(sequence);
    const std::string header = encode_file_header({FileKind::log, pool, sequence});
    if (auto written = disk.write_file(path, as_byte_view(header), true); !written.ok())
        return on_disk(disk, written.error(), "starting " + path);
    return {};
}

Status truncate_log(io::Disk& disk, const std::string& path, std::uint64_t size) {
    if (auto cut = disk.truncate(path, size); !cut.ok())
        return on_disk(disk, cut.error(), "truncating " + path + " to " + std::to_string(size) + " bytes");
    if (auto synced = disk.sync_file(path); !synced.ok())
        return on_disk(disk, synced.error(), "syncing " + path + " after truncation");
    return {};
}

Status remove_files(io::Disk& disk, const std::vector<std::string>& paths) {
    if (paths.empty())
        return {};
    for (const auto& path : paths)
        if (auto removed = disk.remove(path); !removed.ok())
            return on_disk(disk, removed.error(), "removing " + path);
    if (auto synced = disk.sync_dir(kDir); !synced.ok())
        return on_disk(disk, synced.error(), "syncing meta/");
    return {};
}

}  // namespace tiercel::pool::meta
