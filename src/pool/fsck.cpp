#include "tiercel/pool/fsck.hpp"

#include <map>
#include <mutex>

#include "pool_internal.hpp"
#include "tiercel/codec/shard_header.hpp"
#include "tiercel/io/posix_disk.hpp"

namespace tiercel::pool {
namespace {

struct ExpectedShard {
    uint64_t stripe_id;
    uint64_t generation;
    unsigned index;
    bool seen = false;
};
// disk id -> shard path -> what the metadata says should be there
using ExpectedMap = std::map<uint32_t, std::map<std::string, ExpectedShard>>;

void collect_expected(Pool& pool, ExpectedMap& expected, FsckReport& report) {
    pool.meta().scan(kStripePrefix, [&](std::string_view key, std::string_view value) {
        report.stripes_checked++;
        auto record = decode_stripe(value, key);
        if (!record) {
            report.bad_records.push_back(record.error().message());
            return true;
        }
        uint64_t id = stripe_id_from_key(key);
        for (unsigned i = 0; i < record->shard_disks.size(); ++i)
            expected[record->shard_disks[i]][shard_path(id, record->generation, i)] =
                ExpectedShard{id, record->generation, i};
        return true;
    });
}

void check_objects(Pool& pool, FsckReport& report) {
    pool.meta().scan(kObjectPrefix, [&](std::string_view key, std::string_view value) {
        report.objects_checked++;
        auto record = decode_object(value, key);
        if (!record) {
            report.bad_records.push_back(record.error().message());
            return true;
        }
        for (const auto& ref : record->stripes)
            if (!pool.meta().get(stripe_key(ref.stripe_id)))
                report.bad_records.push_back("object '" + std::string(key.substr(2)) + "' names stripe " +
                                             std::to_string(ref.stripe_id) + ", which has no record");
        return true;
    });
}

// Checks every shard file on one disk against the expectations for it. Runs on the disk's own queue.
void check_disk(Pool& pool, Pool::Member& member, std::map<std::string, ExpectedShard>& expected, bool repair,
                FsckReport& report, std::mutex& report_mutex) {
    auto note = [&](std::vector<std::string>& list, std::string line) {
        std::lock_guard lock(report_mutex);
        list.push_back(std::move(line));
    };
    auto buckets = member.disk->list("shards");
    if (!buckets) {
        note(report.missing_shards, member.name() + ": cannot list shards: " + buckets.error().message());
        return;
    }
    for (const auto& bucket : *buckets) {
        auto files = member.disk->list("shards/" + bucket);
        if (!files)
            continue;
        for (const auto& file : *files) {
            std::string path = "shards/" + bucket + "/" + file;
            if (io::PosixDisk::is_temp_name(file)) {
                note(report.temp_files, member.name() + ": " + path);
                if (repair && member.disk->remove(path))
                    note(report.repairs, "removed temp file " + path + " on " + member.name());
                continue;
            }
            auto found = expected.find(path);
            if (found == expected.end()) {
                note(report.orphan_shards, member.name() + ": " + path);
                if (repair && member.disk->remove(path))
                    note(report.repairs, "removed orphan " + path + " on " + member.name());
                continue;
            }
            found->second.seen = true;
            {
                std::lock_guard lock(report_mutex);
                report.shards_checked++;
            }
            auto bytes = member.disk->read_file(path);
            std::string problem;
            if (!bytes) {
                problem = bytes.error().describe();
            } else {
                codec::ByteView view(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
                auto header = codec::verify_shard(view);
                if (!header)
                    problem = header.error().message();
                else if (auto identity = codec::check_shard_identity(
                             *header, codec::StripeIdentity{pool.uuid(), found->second.stripe_id,
                                                            found->second.generation},
                             found->second.index);
                         !identity)
                    problem = identity.error().message();
            }
            if (!problem.empty()) {
                member.checksum_errors++;
                note(report.corrupt_shards, member.name() + ": " + path + ": " + problem);
            }
        }
    }
}

}  // namespace

bool FsckReport::clean() const {
    return data_intact() && orphan_shards.empty() && temp_files.empty() && metadata_findings.empty();
}

FsckReport fsck_pool(Pool& pool, bool repair) {
    FsckReport report;
    ExpectedMap expected;
    collect_expected(pool, expected, report);
    check_objects(pool, report);

    std::mutex report_mutex;
    std::vector<std::future<void>> checks;
    for (uint32_t id = 0;; ++id) {
        Pool::Member* member = PoolInternals::member(pool, id);
        if (!member)
            break;
        auto& mine = expected[id];
        if (!member->online)
            continue;
        checks.push_back(member->io->submit(
            [&pool, member, &mine, repair, &report, &report_mutex] {
                check_disk(pool, *member, mine, repair, report, report_mutex);
            }));
    }
    for (auto& check : checks)
        check.get();
    for (auto& [disk_id, shards] : expected) {
        Pool::Member* member = PoolInternals::member(pool, disk_id);
        std::string where = member ? member->name() : "disk" + std::to_string(disk_id);
        for (auto& [path, shard] : shards)
            if (!shard.seen)
                report.missing_shards.push_back(where + ": " + path + " (stripe " + std::to_string(shard.stripe_id) +
                                                ", shard " + std::to_string(shard.index) +
                                                (member && member->online ? ")" : ", disk offline)"));
    }
    RecoveryReport meta = repair ? pool.meta().repair_replicas() : pool.meta().verify_replicas();
    if (!meta.clean()) {
        report.metadata_findings.push_back(meta.describe());
        if (repair)
            report.repairs.push_back("metadata replicas repaired");
    }
    return report;
}

}  // namespace tiercel::pool
