// The HSM catalog on SQLite: schema creation and the queries the archiver, the interceptor and the CLI need.
#include "tiercel/hsm/catalog.hpp"

#include <chrono>
#include <filesystem>

namespace tiercel::hsm {
namespace {

constexpr int64_t schema_version = 1;

constexpr std::string_view schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS files(
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL CHECK(state IN ('resident','premigrated','stub','partial','dirty')),
  pinned INTEGER NOT NULL DEFAULT 0,
  current_version INTEGER NOT NULL DEFAULT 0,
  updated_ns INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS files_state ON files(state);
CREATE TABLE IF NOT EXISTS versions(
  file_id INTEGER NOT NULL REFERENCES files(id),
  version INTEGER NOT NULL,
  size INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  gid INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  blake2b TEXT NOT NULL,
  archived_ns INTEGER NOT NULL,
  PRIMARY KEY(file_id, version));
CREATE TABLE IF NOT EXISTS copies(
  file_id INTEGER NOT NULL,
  version INTEGER NOT NULL,
  target TEXT NOT NULL,
  key TEXT NOT NULL,
  payload_size INTEGER NOT NULL,
  verified_ns INTEGER NOT NULL,
  PRIMARY KEY(file_id, version, target),
  FOREIGN KEY(file_id, version) REFERENCES versions(file_id, version));
CREATE TABLE IF NOT EXISTS frames(
  file_id INTEGER NOT NULL,
  version INTEGER NOT NULL,
  frame INTEGER NOT NULL,
  raw_offset INTEGER NOT NULL,
  raw_size INTEGER NOT NULL,
  payload_offset INTEGER NOT NULL,
  compressed_size INTEGER NOT NULL,
  PRIMARY KEY(file_id, version, frame));
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY,
  at_ns INTEGER NOT NULL,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  detail TEXT NOT NULL);
)sql";

FileRow file_row(const sqlite::Statement& statement) {
    return {statement.column_int64(0), statement.column_text(1), statement.column_text(2),
            statement.column_int64(3) != 0, statement.column_int64(4), statement.column_int64(5)};
}

VersionRow version_row(const sqlite::Statement& s) {
    VersionRow row;
    row.file_id = s.column_int64(0);
    row.version = s.column_int64(1);
    row.size = static_cast<uint64_t>(s.column_int64(2));
    row.mode = static_cast<uint32_t>(s.column_int64(3));
    row.uid = static_cast<uint32_t>(s.column_int64(4));
    row.gid = static_cast<uint32_t>(s.column_int64(5));
    row.mtime_ns = s.column_int64(6);
    row.ctime_ns = s.column_int64(7);
    row.blake2b = s.column_text(8);
    row.archived_ns = s.column_int64(9);
    return row;
}

CopyRow copy_row(const sqlite::Statement& s) {
    return {s.column_int64(0), s.column_int64(1), s.column_text(2), s.column_text(3),
            static_cast<uint64_t>(s.column_int64(4)), s.column_int64(5)};
}

constexpr std::string_view file_columns = "id, path, state, pinned, current_version, updated_ns";
constexpr std::string_view version_columns =
    "file_id, version, size, mode, uid, gid, mtime_ns, ctime_ns, blake2b, archived_ns";
constexpr std::string_view copy_columns = "file_id, version, target, key, payload_size, verified_ns";

template <typename Row, typename Convert>
Result<std::vector<Row>> collect(sqlite::Statement& statement, Convert convert) {
    std::vector<Row> rows;
    while (true) {
        TIERCEL_ASSIGN(bool more, statement.step());
        if (!more)
            return rows;
        rows.push_back(convert(statement));
    }
}

}  // namespace

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Result<Catalog> Catalog::open(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    TIERCEL_ASSIGN(auto db, sqlite::Database::open(path));
    TIERCEL_TRY(db.exec(schema_sql));
    TIERCEL_ASSIGN(int64_t version, db.user_version());
    if (version == 0)
        TIERCEL_TRY(db.set_user_version(schema_version));
    else if (version != schema_version)
        return make_error(Errc::invalid_input, "catalog " + path + " has schema version " + std::to_string(version) +
                                                   ", this Tiercel knows " + std::to_string(schema_version));
    return Catalog(std::move(db));
}

Result<std::optional<FileRow>> Catalog::file_by_path(const std::string& path) {
    TIERCEL_ASSIGN(auto s, db_.prepare("SELECT " + std::string(file_columns) + " FROM files WHERE path = ?"));
    s.bind(1, path);
    TIERCEL_ASSIGN(bool found, s.step());
    if (!found)
        return std::optional<FileRow>();
    return std::optional<FileRow>(file_row(s));
}

Result<std::optional<FileRow>> Catalog::file_by_id(int64_t id) {
    TIERCEL_ASSIGN(auto s, db_.prepare("SELECT " + std::string(file_columns) + " FROM files WHERE id = ?"));
    s.bind(1, id);
    TIERCEL_ASSIGN(bool found, s.step());
    if (!found)
        return std::optional<FileRow>();
    return std::optional<FileRow>(file_row(s));
}

Result<int64_t> Catalog::ensure_file(const std::string& path) {
    TIERCEL_ASSIGN(auto existing, file_by_path(path));
    if (existing)
        return existing->id;
    TIERCEL_ASSIGN(auto s, db_.prepare("INSERT INTO files(path, state, updated_ns) VALUES(?, 'resident', ?)"));
    s.bind(1, path).bind(2, now_ns());
    TIERCEL_TRY(s.run());
    return db_.last_insert_rowid();
}

Result<int64_t> Catalog::next_version(int64_t file_id) {
    TIERCEL_ASSIGN(auto s, db_.prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE file_id = ?"));
    s.bind(1, file_id);
    TIERCEL_TRY(s.step());
    return s.column_int64(0);
}

Status Catalog::add_version(const VersionRow& v, const std::vector<CopyRow>& copies, const SeekTable& table) {
    TIERCEL_ASSIGN(auto transaction, sqlite::Transaction::begin(db_));
    TIERCEL_ASSIGN(auto insert, db_.prepare("INSERT INTO versions(" + std::string(version_columns) +
                                            ") VALUES(?,?,?,?,?,?,?,?,?,?)"));
    insert.bind(1, v.file_id).bind(2, v.version).bind(3, static_cast<int64_t>(v.size)).bind(4, int64_t(v.mode));
    insert.bind(5, int64_t(v.uid)).bind(6, int64_t(v.gid)).bind(7, v.mtime_ns).bind(8, v.ctime_ns);
    insert.bind(9, v.blake2b).bind(10, v.archived_ns);
    TIERCEL_TRY(insert.run());
    TIERCEL_ASSIGN(auto copy, db_.prepare("INSERT INTO copies(" + std::string(copy_columns) + ") VALUES(?,?,?,?,?,?)"));
    for (const auto& c : copies) {
        copy.reset();
        copy.bind(1, c.file_id).bind(2, c.version).bind(3, c.target).bind(4, c.key);
        copy.bind(5, static_cast<int64_t>(c.payload_size)).bind(6, c.verified_ns);
        TIERCEL_TRY(copy.run());
    }
    TIERCEL_ASSIGN(auto frame, db_.prepare("INSERT INTO frames VALUES(?,?,?,?,?,?,?)"));
    for (size_t i = 0; i < table.frames.size(); ++i) {
        const Frame& f = table.frames[i];
        frame.reset();
        frame.bind(1, v.file_id).bind(2, v.version).bind(3, static_cast<int64_t>(i));
        frame.bind(4, static_cast<int64_t>(f.raw_offset)).bind(5, static_cast<int64_t>(f.raw_size));
        frame.bind(6, static_cast<int64_t>(f.payload_offset)).bind(7, static_cast<int64_t>(f.compressed_size));
        TIERCEL_TRY(frame.run());
    }
    TIERCEL_ASSIGN(auto update, db_.prepare("UPDATE files SET current_version = ?, state = 'premigrated', "
                                            "updated_ns = ? WHERE id = ?"));
    update.bind(1, v.version).bind(2, now_ns()).bind(3, v.file_id);
    TIERCEL_TRY(update.run());
    return transaction.commit();
}

Status Catalog::set_state(int64_t file_id, const std::string& state) {
    TIERCEL_ASSIGN(auto s, db_.prepare("UPDATE files SET state = ?, updated_ns = ? WHERE id = ?"));
    s.bind(1, state).bind(2, now_ns()).bind(3, file_id);
    return s.run();
}

Status Catalog::set_pinned(int64_t file_id, bool pinned) {
    TIERCEL_ASSIGN(auto s, db_.prepare("UPDATE files SET pinned = ?, updated_ns = ? WHERE id = ?"));
    s.bind(1, int64_t(pinned ? 1 : 0)).bind(2, now_ns()).bind(3, file_id);
    return s.run();
}

Status Catalog::set_path(int64_t file_id, const std::string& path) {
    TIERCEL_ASSIGN(auto s, db_.prepare("UPDATE files SET path = ?, updated_ns = ? WHERE id = ?"));
    s.bind(1, path).bind(2, now_ns()).bind(3, file_id);
    return s.run();
}

Result<std::optional<VersionRow>> Catalog::version(int64_t file_id, int64_t version) {
    TIERCEL_ASSIGN(auto s, db_.prepare("SELECT " + std::string(version_columns) +
                                       " FROM versions WHERE file_id = ? AND version = ?"));
    s.bind(1, file_id).bind(2, version);
    TIERCEL_ASSIGN(bool found, s.step());
    if (!found)
        return std::optional<VersionRow>();
    return std::optional<VersionRow>(version_row(s));
}

Result<std::vector<VersionRow>> Catalog::versions(int64_t file_id) {
    TIERCEL_ASSIGN(auto s, db_.prepare("SELECT " + std::string(version_columns) +
                                       " FROM versions WHERE file_id = ? ORDER BY version"));
    s.bind(1, file_id);
    return collect<VersionRow>(s, version_row);
}

Result<std::vector<CopyRow>> Catalog::copies(int64_t file_id, int64_t version) {
    TIERCEL_ASSIGN(auto s, db_.prepare("SELECT " + std::string(copy_columns) +
                                       " FROM copies WHERE file_id = ? AND version = ? ORDER BY target"));
    s.bind(1, file_id).bind(2, version);
    return collect<CopyRow>(s, copy_row);
}

Result<std::vector<CopyRow>> Catalog::all_copies() {
    TIERCEL_ASSIGN(auto s, db_.prepare("SELECT " + std::string(copy_columns) + " FROM copies ORDER BY file_id, version"));
    return collect<CopyRow>(s, copy_row);
}

Status Catalog::remove_version(int64_t file_id, int64_t version) {
    TIERCEL_ASSIGN(auto file, file_by_id(file_id));
    if (file && file->current_version == version)
        return make_error(Errc::invalid_input, "version " + std::to_string(version) + " of " + file->path +
                                                   " is the current one: never pruned");
    TIERCEL_ASSIGN(auto transaction, sqlite::Transaction::begin(db_));
    for (std::string_view table : {"frames", "copies", "versions"}) {
        TIERCEL_ASSIGN(auto s, db_.prepare("DELETE FROM " + std::string(table) + " WHERE file_id = ? AND version = ?"));
        s.bind(1, file_id).bind(2, version);
        TIERCEL_TRY(s.run());
    }
    return transaction.commit();
}

Result<std::vector<int64_t>> Catalog::files_with_old_versions() {
    TIERCEL_ASSIGN(auto s, db_.prepare("SELECT file_id FROM versions GROUP BY file_id HAVING COUNT(*) > 1"));
    return collect<int64_t>(s, [](const sqlite::Statement& row) { return row.column_int64(0); });
}

Result<std::vector<FileRow>> Catalog::files(const std::string& state, const std::string& prefix) {
    TIERCEL_ASSIGN(auto s, db_.prepare("SELECT " + std::string(file_columns) +
                                       " FROM files WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR path = ?2 OR "
                                       "substr(path, 1, length(?2) + 1) = ?2 || '/') ORDER BY path"));
    s.bind(1, state).bind(2, prefix);
    return collect<FileRow>(s, file_row);
}

Result<std::vector<std::pair<std::string, int64_t>>> Catalog::counts_by_state() {
    TIERCEL_ASSIGN(auto s, db_.prepare("SELECT state, COUNT(*) FROM files GROUP BY state ORDER BY state"));
    return collect<std::pair<std::string, int64_t>>(
        s, [](const sqlite::Statement& row) { return std::make_pair(row.column_text(0), row.column_int64(1)); });
}

Status Catalog::import_payload(const PayloadHeader& h, const std::string& state, const CopyRow& copy,
                               const SeekTable& table) {
    TIERCEL_ASSIGN(auto transaction, sqlite::Transaction::begin(db_));
    TIERCEL_ASSIGN(auto file, db_.prepare("INSERT INTO files(id, path, state, current_version, updated_ns) "
                                          "VALUES(?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                                          "current_version = MAX(current_version, excluded.current_version)"));
    file.bind(1, h.file_id).bind(2, h.path).bind(3, state).bind(4, h.version).bind(5, now_ns());
    TIERCEL_TRY(file.run());
    TIERCEL_ASSIGN(auto existing, version(h.file_id, h.version));
    if (!existing) {
        TIERCEL_ASSIGN(auto insert, db_.prepare("INSERT INTO versions(" + std::string(version_columns) +
                                                ") VALUES(?,?,?,?,?,?,?,?,?,?)"));
        insert.bind(1, h.file_id).bind(2, h.version).bind(3, static_cast<int64_t>(h.size)).bind(4, int64_t(h.mode));
        insert.bind(5, int64_t(h.uid)).bind(6, int64_t(h.gid)).bind(7, h.mtime_ns).bind(8, h.ctime_ns);
        insert.bind(9, h.blake2b).bind(10, now_ns());
        TIERCEL_TRY(insert.run());
        TIERCEL_ASSIGN(auto frame, db_.prepare("INSERT OR IGNORE INTO frames VALUES(?,?,?,?,?,?,?)"));
        for (size_t i = 0; i < table.frames.size(); ++i) {
            const Frame& f = table.frames[i];
            frame.reset();
            frame.bind(1, h.file_id).bind(2, h.version).bind(3, static_cast<int64_t>(i));
            frame.bind(4, static_cast<int64_t>(f.raw_offset)).bind(5, static_cast<int64_t>(f.raw_size));
            frame.bind(6, static_cast<int64_t>(f.payload_offset)).bind(7, static_cast<int64_t>(f.compressed_size));
            TIERCEL_TRY(frame.run());
        }
    }
    TIERCEL_ASSIGN(auto insert_copy, db_.prepare("INSERT OR IGNORE INTO copies(" + std::string(copy_columns) +
                                                 ") VALUES(?,?,?,?,?,?)"));
    insert_copy.bind(1, copy.file_id).bind(2, copy.version).bind(3, copy.target).bind(4, copy.key);
    insert_copy.bind(5, static_cast<int64_t>(copy.payload_size)).bind(6, copy.verified_ns);
    TIERCEL_TRY(insert_copy.run());
    return transaction.commit();
}

Status Catalog::add_event(const std::string& kind, const std::string& path, const std::string& detail) {
    TIERCEL_ASSIGN(auto s, db_.prepare("INSERT INTO events(at_ns, kind, path, detail) VALUES(?,?,?,?)"));
    s.bind(1, now_ns()).bind(2, kind).bind(3, path).bind(4, detail);
    return s.run();
}

Result<std::vector<EventRow>> Catalog::recent_events(int limit) {
    TIERCEL_ASSIGN(auto s, db_.prepare("SELECT at_ns, kind, path, detail FROM events ORDER BY id DESC LIMIT ?"));
    s.bind(1, int64_t(limit));
    return collect<EventRow>(s, [](const sqlite::Statement& row) {
        return EventRow{row.column_int64(0), row.column_text(1), row.column_text(2), row.column_text(3)};
    });
}

}  // namespace tiercel::hsm
