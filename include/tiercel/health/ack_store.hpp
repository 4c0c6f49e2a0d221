// Contract: acknowledged risk counters, kept in SQLite (<state_dir>/health.db, docs/formats.md) so that a counter a
// person acknowledged stays quiet across daemon restarts until its value changes.
//  - One row per (disk, counter): the value it was acknowledged at and when. save() replaces the row; erase() drops
//    it (the counter changed and speaks again). load() returns every row.
//  - Trend memory itself (escalation, decay) is not stored: a restart starts trends afresh; only the person's
//    decision is kept.
//  - Not thread-safe: HealthService calls it under its own mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tiercel/core/error.hpp"
#include "tiercel/core/sqlite.hpp"

namespace tiercel::health {

struct Acknowledgement {
    std::string disk;     // "disk3", "watch0"
    std::string counter;  // "ata.5", "nvme.media_errors", "pool.checksum_errors", ...
    uint64_t value = 0;   // the counter's value when it was acknowledged
    int64_t at = 0;       // Unix seconds
};

class AckStore {
public:
    static Result<std::unique_ptr<AckStore>> open(const std::string& path);
    Result<std::vector<Acknowledgement>> load();
    Status save(const Acknowledgement& ack);
    Status erase(const std::string& disk, const std::string& counter);

private:
    explicit AckStore(sqlite::Database db) : db_(std::move(db)) {}
    sqlite::Database db_;
};

}  // namespace tiercel::health
