// Contract: the HSM catalog, an SQLite database in WAL mode (schema in docs/formats.md, "HSM catalog"). It knows
// every archived file by path and id, each file's versions (size, times, BLAKE2b-256), where each version's copies
// are (target + key), each copy's frame table, and a log of events (archive, stub, recall, failures).
// The file's own xattr (file_state.hpp) is the truth about one file; the catalog is the index that survives the
// file and lets the daemon put marks back on every stub at start. Not thread-safe: one Catalog per thread, or a
// mutex around it (the daemon does the latter).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tiercel/core/sqlite.hpp"
#include "tiercel/hsm/payload.hpp"

namespace tiercel::hsm {

struct FileRow {
    int64_t id = 0;
    std::string path;
    std::string state;  // resident | premigrated | stub | partial | dirty
    bool pinned = false;
    int64_t current_version = 0;
    int64_t updated_ns = 0;
};

struct VersionRow {
    int64_t file_id = 0, version = 0;
    uint64_t size = 0;
    uint32_t mode = 0, uid = 0, gid = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    std::string blake2b;
    int64_t archived_ns = 0;
};

struct CopyRow {
    int64_t file_id = 0, version = 0;
    std::string target, key;
    uint64_t payload_size = 0;
    int64_t verified_ns = 0;
};

struct EventRow {
    int64_t at_ns = 0;
    std::string kind, path, detail;
};

class Catalog {
public:
    static Result<Catalog> open(const std::string& path);

    Result<std::optional<FileRow>> file_by_path(const std::string& path);
    Result<std::optional<FileRow>> file_by_id(int64_t id);
    // Returns the file's id, creating a row in state "resident" when it is new.
    Result<int64_t> ensure_file(const std::string& path);
    Result<int64_t> next_version(int64_t file_id);
    // Records a verified version with its copies and frames, makes it current and the file premigrated: one
    // transaction, so a crash leaves either all of it or none.
    Status add_version(const VersionRow& version, const std::vector<CopyRow>& copies, const SeekTable& table);
    Status set_state(int64_t file_id, const std::string& state);
    Status set_pinned(int64_t file_id, bool pinned);
    Status set_path(int64_t file_id, const std::string& path);

    Result<std::optional<VersionRow>> version(int64_t file_id, int64_t version);
    Result<std::vector<VersionRow>> versions(int64_t file_id);
    Result<std::vector<CopyRow>> copies(int64_t file_id, int64_t version);
    Result<std::vector<CopyRow>> all_copies();
    // Retention: deletes one version with its copies and frames in one transaction (the caller removes the
    // payloads afterwards). Refuses the file's current version.
    Status remove_version(int64_t file_id, int64_t version);
    // Ids of files that have more than one version: the only ones retention can prune.
    Result<std::vector<int64_t>> files_with_old_versions();
    // Files in one state ("" = all), ordered by path, optionally below a directory prefix.
    Result<std::vector<FileRow>> files(const std::string& state = "", const std::string& prefix = "");
    Result<std::vector<std::pair<std::string, int64_t>>> counts_by_state();

    // `catalog rebuild`: records one payload found in a target (its header and seek table), keeping the file id the
    // header names (the files' xattrs refer to it). A version already present only gains the copy.
    Status import_payload(const PayloadHeader& header, const std::string& state, const CopyRow& copy,
                          const SeekTable& table);

    Status add_event(const std::string& kind, const std::string& path, const std::string& detail);
    Result<std::vector<EventRow>> recent_events(int limit);

    sqlite::Database& database() { return db_; }

private:
    explicit Catalog(sqlite::Database db) : db_(std::move(db)) {}
    sqlite::Database db_;
};

int64_t now_ns();

}  // namespace tiercel::hsm
