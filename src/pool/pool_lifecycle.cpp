// Pool::create and Pool::open: labels, keys, the metadata store and the member disks.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "pool_internal.hpp"
#include "tiercel/pool/maintenance.hpp"
#include "tiercel/core/log.hpp"

namespace tiercel::pool {
namespace {

Status validate_spec(const PoolSpec& spec) {
    if (spec.k < 1 || spec.k > 32 || spec.m < 0 || spec.m > 8)
        return make_error(Errc::invalid_input, "k must be 1..32 and m 0..8 (got k=" + std::to_string(spec.k) +
                                                   ", m=" + std::to_string(spec.m) + ")");
    if (static_cast<int>(spec.disks.size()) < spec.k + spec.m)
        return make_error(Errc::invalid_input, "a " + std::to_string(spec.k) + "+" + std::to_string(spec.m) +
                                                   " pool needs at least " + std::to_string(spec.k + spec.m) +
                                                   " disks; the config lists " + std::to_string(spec.disks.size()));
    if (spec.chunk_size < 4096 || spec.chunk_size * spec.k > codec::max_stripe_logical_length)
        return make_error(Errc::invalid_input, "chunk_size " + std::to_string(spec.chunk_size) + " is out of range");
    return codec::parse_compression(spec.compression).ok()
               ? Status{}
               : Status{make_error(Errc::invalid_input, "unknown compression '" + spec.compression + "'")};
}

// A disk is fit for a new pool when it holds no label and nothing but "lost+found".
Status check_disk_is_free(io::Disk& disk) {
    auto label = read_label(disk);
    if (label.ok())
        return make_error(Errc::already_exists, disk.name() + " already belongs to pool '" + label->pool_name +
                                                    "' (" + uuid_to_string(label->pool_uuid) +
                                                    "); use --force to reformat it");
    if (label.error().code() != Errc::not_found)
        return make_error(Errc::already_exists, disk.name() + " holds a damaged tiercel label (" +
                                                    label.error().message() + "); use --force to reformat it");
    TIERCEL_ASSIGN(auto entries, disk.list(""));
    entries.erase(std::remove(entries.begin(), entries.end(), "lost+found"), entries.end());
    if (!entries.empty())
        return make_error(Errc::already_exists, disk.name() + " is not empty (" + std::to_string(entries.size()) +
                                                    " entries, e.g. '" + entries.front() +
                                                    "'); use --force to use it anyway");
    return {};
}

// --force on a disk of an earlier pool: its metadata and shards must never be mistaken for the new pool's.
Status erase_previous_pool(io::Disk& disk) {
    TIERCEL_TRY(disk.remove(kLabelPath));
    for (const char* dir : {"meta"})
        if (auto files = disk.list(dir))
            for (const auto& file : *files)
                TIERCEL_TRY(disk.remove(std::string(dir) + "/" + file));
    if (auto buckets = disk.list("shards"))
        for (const auto& bucket : *buckets)
            if (auto files = disk.list("shards/" + bucket))
                for (const auto& file : *files)
                    TIERCEL_TRY(disk.remove("shards/" + bucket + "/" + file));
    return {};
}

std::string random_disk_uuid() { return uuid_to_string(random_uuid()); }

Result<std::optional<EncryptionParams>> prepare_encryption(const PoolSpec& spec, std::optional<codec::AeadKey>& key) {
    if (!spec.passphrase)
        return std::optional<EncryptionParams>();
    EncryptionParams params;
    if (spec.kdf_params) {
        params.kdf = *spec.kdf_params;
    } else {
        TIERCEL_ASSIGN(params.kdf, codec::KdfParams::with_random_salt());
    }
    TIERCEL_ASSIGN(auto derived, codec::AeadKey::derive(*spec.passphrase, params.kdf));
    params.key_check = derived.key_check_value();
    key = derived;
    return std::optional<EncryptionParams>(params);
}

}  // namespace

std::string encode_u64(uint64_t value) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i)
        out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
    return out;
}

uint64_t decode_u64(std::string_view bytes) {
    uint64_t value = 0;
    for (size_t i = 0; i < 8 && i < bytes.size(); ++i)
        value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
    return value;
}

Status validate_object_name(std::string_view name) {
    if (name.empty())
        return make_error(Errc::invalid_input, "an object name must not be empty");
    if (name.size() > 1024)
        return make_error(Errc::invalid_input, "object name is " + std::to_string(name.size()) +
                                                   " bytes; the limit is 1024");
    if (name.find('\0') != std::string_view::npos)
        return make_error(Errc::invalid_input, "an object name must not contain a NUL byte");
    return {};
}

Pool::Pool(PoolSpec spec, PoolUuid uuid) : spec_(std::move(spec)), uuid_(uuid) {}

Pool::~Pool() {
    if (meta_ && deferred_)
        if (Status synced = sync(); !synced)
            log::error("pool", "closing with deferred changes that could not be made durable: " +
                                   synced.error().describe());
    stripe_jobs_.reset();
    for (auto& member : members_)
        member->io.reset();
}

Result<std::unique_ptr<Pool>> Pool::create(const PoolSpec& spec, const CreateOptions& options) {
    TIERCEL_TRY(validate_spec(spec));
    for (const auto& disk : spec.disks)
        if (!disk.disk)
            return make_error(Errc::not_found, "cannot use disk " + disk.path + ": " + disk.unavailable_reason);
    if (!options.force)
        for (const auto& disk : spec.disks)
            TIERCEL_TRY(check_disk_is_free(*disk.disk));
    std::unique_ptr<Pool> pool(new Pool(spec, random_uuid()));
    TIERCEL_ASSIGN(auto encryption, prepare_encryption(spec, pool->key_));

    MetaBatch batch;
    std::vector<io::DiskPtr> replica_disks;
    std::vector<size_t> order(spec.disks.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    // Metadata replicas go to the fastest tiers first: every commit waits for all of them.
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return tier_rank(spec.disks[a].tier) < tier_rank(spec.disks[b].tier);
    });
    size_t replica_count = std::min<size_t>(spec.m + 1, spec.disks.size());
    for (size_t i = 0; i < replica_count; ++i)
        replica_disks.push_back(spec.disks[order[i]].disk);

    for (uint32_t id = 0; id < spec.disks.size(); ++id) {
        const PoolDiskSpec& disk = spec.disks[id];
        if (options.force)
            TIERCEL_TRY(erase_previous_pool(*disk.disk));
        DiskLabel label{pool->uuid_, spec.name, id, random_disk_uuid(), spec.k, spec.m, spec.chunk_size,
                        static_cast<int64_t>(std::time(nullptr)), encryption};
        TIERCEL_TRY(format_member_disk(*disk.disk, label));
        DiskRecord record{id, label.disk_uuid, disk.path, disk.tier, disk.failure_domain, disk.capacity.value_or(0),
                          DiskState::active};
        batch.put(disk_key(id), encode_disk(record));
    }
    TIERCEL_ASSIGN(pool->meta_, MetaStore::create(replica_disks, pool->uuid_));
    batch.put(kNextStripeKey, encode_u64(1));
    TIERCEL_TRY(pool->meta_->commit(batch));
    TIERCEL_TRY(PoolInternals::build_codec(*pool));
    TIERCEL_TRY(PoolInternals::start_members(*pool));
    log::notice("pool", "created pool '" + spec.name + "' (" + uuid_to_string(pool->uuid_) + ") " +
                            std::to_string(spec.k) + "+" + std::to_string(spec.m) + " on " +
                            std::to_string(spec.disks.size()) + " disks");
    return pool;
}

namespace {

struct LabelScan {
    std::vector<Result<DiskLabel>> labels;
    DiskLabel reference;  // the first readable label (a plain member: GCC 12 misreads an optional here)
    bool found = false;
};

Result<LabelScan> scan_labels(const PoolSpec& spec) {
    LabelScan scan;
    for (const auto& disk : spec.disks) {
        if (!disk.disk) {
            scan.labels.push_back(make_error(Errc::not_found, disk.unavailable_reason));
            continue;
        }
        scan.labels.push_back(read_label(*disk.disk));
        const auto& label = scan.labels.back();
        if (!label.ok())
            continue;
        if (!scan.found) {
            scan.reference = *label;
            scan.found = true;
        } else if (label->pool_uuid != scan.reference.pool_uuid) {
            return make_error(Errc::invalid_input,
                              disk.disk->name() + " belongs to pool " + uuid_to_string(label->pool_uuid) +
                                  " but other disks to pool " + uuid_to_string(scan.reference.pool_uuid) +
                                  "; the config mixes disks of two pools");
        }
    }
    if (!scan.found)
        return make_error(Errc::not_found, "no disk in the config holds a tiercel label; create the pool first with "
                                           "'tiercel pool create'");
    return scan;
}

Status check_layout(const PoolSpec& spec, const DiskLabel& label) {
    auto mismatch = [&](std::string key, uint64_t configured, uint64_t actual) {
        return make_error(Errc::invalid_input, "the config says " + key + " = " + std::to_string(configured) +
                                                   " but pool '" + label.pool_name + "' was created with " +
                                                   std::to_string(actual) + "; fix [pool] " + key);
    };
    if (spec.k != label.k) return mismatch("k", spec.k, label.k);
    if (spec.m != label.m) return mismatch("m", spec.m, label.m);
    if (spec.chunk_size != label.chunk_size) return mismatch("chunk_size", spec.chunk_size, label.chunk_size);
    return {};
}

Status unlock_key(const PoolSpec& spec, const DiskLabel& label, std::optional<codec::AeadKey>& key) {
    if (!label.encryption) {
        if (spec.passphrase)
            return make_error(Errc::invalid_input, "pool '" + label.pool_name +
                                                       "' is not encrypted but the config names a key_file");
        return {};
    }
    if (!spec.passphrase)
        return make_error(Errc::permission, "pool '" + label.pool_name + "' is encrypted; set [pool] key_file");
    TIERCEL_ASSIGN(auto derived, codec::AeadKey::derive(*spec.passphrase, label.encryption->kdf));
    if (!derived.verify_key_check(label.encryption->key_check))
        return make_error(Errc::permission, "wrong key for pool '" + label.pool_name +
                                                "': the key_file's passphrase does not match the one it was "
                                                "created with");
    key = derived;
    return {};
}

}  // namespace

Result<std::unique_ptr<Pool>> Pool::open(const PoolSpec& spec) {
    TIERCEL_ASSIGN(LabelScan scan, scan_labels(spec));
    const DiskLabel& reference = scan.reference;
    TIERCEL_TRY(check_layout(spec, reference));
    std::unique_ptr<Pool> pool(new Pool(spec, reference.pool_uuid));
    TIERCEL_TRY(unlock_key(spec, reference, pool->key_));

    std::vector<io::DiskPtr> candidates;
    for (size_t i = 0; i < spec.disks.size(); ++i)
        if (scan.labels[i].ok() && spec.disks[i].disk->exists("meta").value_or(false))
            candidates.push_back(spec.disks[i].disk);
    size_t required = std::min<size_t>(spec.m + 1, spec.disks.size());
    TIERCEL_ASSIGN(auto opened, MetaStore::open(candidates, pool->uuid_, required));
    pool->meta_ = std::move(opened.store);
    if (!opened.report.clean())
        log::warning("pool", "metadata recovery:\n" + opened.report.describe());

    // Member disks come from the metadata; the config says where each one is mounted now.
    std::vector<DiskRecord> records;
    Status decode_status;
    pool->meta_->scan(kDiskPrefix, [&](std::string_view key, std::string_view value) {
        auto record = decode_disk(value, key);
        if (!record) {
            decode_status = record.error();
            return false;
        }
        records.push_back(*record);
        return true;
    });
    TIERCEL_TRY(decode_status);
    for (const DiskRecord& record : records) {
        auto member = std::make_unique<Member>();
        member->record = record;
        member->offline_reason = "not listed in the config ([[pool.disk]] path)";
        for (size_t i = 0; i < spec.disks.size(); ++i) {
            if (scan.labels[i].ok() && scan.labels[i]->disk_id == record.disk_id) {
                member->disk = spec.disks[i].disk;
                member->record.path = spec.disks[i].path;
                member->online = true;
            } else if (!scan.labels[i].ok() && spec.disks[i].path == record.path) {
                member->disk = spec.disks[i].disk;
                member->offline_reason = scan.labels[i].error().message();
            }
        }
        if (record.disk_id != pool->members_.size())
            return make_error(Errc::corruption, "disk records are not numbered densely (found disk" +
                                                    std::to_string(record.disk_id) + ")");
        pool->members_.push_back(std::move(member));
    }
    if (auto next = pool->meta_->get(kNextStripeKey))
        pool->next_stripe_id_ = decode_u64(*next);
    TIERCEL_TRY(PoolInternals::build_codec(*pool));
    TIERCEL_TRY(PoolInternals::start_members(*pool));
    for (const auto& member : pool->members_)
        if (!member->online)
            log::warning("pool", member->name() + " is offline: " + member->offline_reason);
    // Lost metadata replica disks are replaced by other online members, so metadata is back on m+1 disks.
    if (auto restored = restore_meta_replicas(*pool); restored) {
        for (const auto& action : *restored)
            log::notice("pool", action);
    } else {
        log::warning("pool", restored.error().describe() + "; writes are refused until enough disks return");
    }
    return pool;
}

Pool::Member* PoolInternals::member(Pool& pool, uint32_t disk_id) {
    return disk_id < pool.members_.size() ? pool.members_[disk_id].get() : nullptr;
}

Status PoolInternals::build_codec(Pool& pool) {
    codec::StripeCodecConfig config;
    config.data_shards = pool.spec_.k;
    config.parity_shards = pool.spec_.m;
    TIERCEL_ASSIGN(config.compression, codec::parse_compression(pool.spec_.compression));
    config.compression_level = pool.spec_.compression_level;
    config.key = pool.key_;
    TIERCEL_ASSIGN(auto built, codec::StripeCodec::create(config));
    pool.codec_.emplace(std::move(built));
    return {};
}

Status PoolInternals::start_members(Pool& pool) {
    if (pool.members_.empty()) {
        // Fresh from create(): every configured disk is a member, in id order.
        for (uint32_t id = 0; id < pool.spec_.disks.size(); ++id) {
            auto member = std::make_unique<Pool::Member>();
            auto record = pool.meta_->get(disk_key(id));
            if (!record)
                return make_error(Errc::internal, "disk record " + std::to_string(id) + " missing after create");
            TIERCEL_ASSIGN(member->record, decode_disk(*record, disk_key(id)));
            member->disk = pool.spec_.disks[id].disk;
            member->online = true;
            pool.members_.push_back(std::move(member));
        }
    }
    for (auto& member : pool.members_)
        member->io = std::make_unique<TaskPool>("disk" + std::to_string(member->record.disk_id),
                                                std::max(1u, pool.spec_.threads_per_disk));
    pool.stripe_jobs_ = std::make_unique<TaskPool>("stripe", std::max(1u, pool.spec_.inflight_stripes));
    install_durability_hooks(pool);
    return {};
}

void Pool::Member::record_latency(double ms) {
    std::lock_guard lock(latency_mutex);
    latency_ewma_ms = latency_ewma_ms == 0 ? ms : 0.9 * latency_ewma_ms + 0.1 * ms;
}

double Pool::Member::latency_ms() {
    std::lock_guard lock(latency_mutex);
    return latency_ewma_ms;
}

bool PoolInternals::note_degraded(Pool& pool, uint64_t stripe_id) {
    std::lock_guard lock(pool.degraded_mutex_);
    return pool.degraded_stripes_.insert(stripe_id).second;
}

std::string PoolInternals::inline_aad(const Pool& pool, uint64_t object_id) {
    return std::string(reinterpret_cast<const char*>(pool.uuid_.data()), pool.uuid_.size()) + "inline" +
           encode_u64(object_id);
}

}  // namespace tiercel::pool
