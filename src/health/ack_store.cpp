// Acknowledged risk counters in SQLite (include/tiercel/health/ack_store.hpp; schema in docs/formats.md).
#include "tiercel/health/ack_store.hpp"

namespace tiercel::health {
namespace {

constexpr int64_t kSchemaVersion = 1;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS acknowledgements (
  disk    TEXT NOT NULL,
  counter TEXT NOT NULL,
  value   INTEGER NOT NULL,
  at      INTEGER NOT NULL,
  PRIMARY KEY (disk, counter)
);
)sql";

}  // namespace

Result<std::unique_ptr<AckStore>> AckStore::open(const std::string& path) {
    TIERCEL_ASSIGN(auto db, sqlite::Database::open(path));
    TIERCEL_ASSIGN(int64_t version, db.user_version());
    if (version > kSchemaVersion)
        return make_error(Errc::invalid_input, path + " has health schema version " + std::to_string(version) +
                                                   ", newer than this tiercel understands (" +
                                                   std::to_string(kSchemaVersion) + ")");
    TIERCEL_TRY(db.exec(kSchema));
    TIERCEL_TRY(db.set_user_version(kSchemaVersion));
    return std::unique_ptr<AckStore>(new AckStore(std::move(db)));
}

Result<std::vector<Acknowledgement>> AckStore::load() {
    TIERCEL_ASSIGN(auto select, db_.prepare("SELECT disk, counter, value, at FROM acknowledgements ORDER BY disk, counter"));
    std::vector<Acknowledgement> out;
    for (;;) {
        TIERCEL_ASSIGN(bool row, select.step());
        if (!row)
            break;
        out.push_back({select.column_text(0), select.column_text(1), static_cast<uint64_t>(select.column_int64(2)),
                       select.column_int64(3)});
    }
    return out;
}

Status AckStore::save(const Acknowledgement& ack) {
    TIERCEL_ASSIGN(auto insert, db_.prepare("INSERT OR REPLACE INTO acknowledgements (disk, counter, value, at) "
                                            "VALUES (?1, ?2, ?3, ?4)"));
    return insert.bind(1, ack.disk)
        .bind(2, ack.counter)
        .bind(3, static_cast<int64_t>(ack.value))
        .bind(4, ack.at)
        .run();
}

Status AckStore::erase(const std::string& disk, const std::string& counter) {
    TIERCEL_ASSIGN(auto remove, db_.prepare("DELETE FROM acknowledgements WHERE disk = ?1 AND counter = ?2"));
    return remove.bind(1, disk).bind(2, counter).run();
}

}  // namespace tiercel::health
