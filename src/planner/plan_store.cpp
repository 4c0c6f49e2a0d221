// The planner's SQLite store (include/tiercel/planner/plan_store.hpp; schema in docs/formats.md).
#include "tiercel/planner/plan_store.hpp"

namespace tiercel::planner {
namespace {

constexpr int64_t kSchemaVersion = 1;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS plans (
  id      INTEGER PRIMARY KEY,
  action  TEXT NOT NULL,
  target  TEXT NOT NULL,
  state   TEXT NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  body    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS plans_by_state ON plans(state);
CREATE TABLE IF NOT EXISTS audit (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  time    INTEGER NOT NULL,
  plan_id INTEGER NOT NULL,
  action  TEXT NOT NULL,
  target  TEXT NOT NULL,
  event   TEXT NOT NULL,
  actor   TEXT NOT NULL,
  detail  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_plan ON audit(plan_id);
CREATE TABLE IF NOT EXISTS planner_state (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

}  // namespace

nlohmann::json to_json(const AuditEntry& entry) {
    return {{"seq", entry.seq},       {"time", entry.time},   {"plan_id", entry.plan_id},
            {"action", entry.action}, {"target", entry.target}, {"event", entry.event},
            {"actor", entry.actor},   {"detail", entry.detail}};
}

Result<std::unique_ptr<PlanStore>> PlanStore::open(const std::string& path) {
    TIERCEL_ASSIGN(auto db, sqlite::Database::open(path));
    TIERCEL_ASSIGN(int64_t version, db.user_version());
    if (version > kSchemaVersion)
        return make_error(Errc::invalid_input, path + " has planner schema version " + std::to_string(version) +
                                                   ", newer than this tiercel understands (" +
                                                   std::to_string(kSchemaVersion) + ")");
    TIERCEL_TRY(db.exec(kSchema));
    TIERCEL_TRY(db.set_user_version(kSchemaVersion));
    return std::unique_ptr<PlanStore>(new PlanStore(std::move(db)));
}

Result<std::vector<Plan>> PlanStore::load_plans() {
    TIERCEL_ASSIGN(auto select, db_.prepare("SELECT body FROM plans ORDER BY id"));
    std::vector<Plan> plans;
    for (;;) {
        TIERCEL_ASSIGN(bool row, select.step());
        if (!row)
            break;
        auto json = nlohmann::json::parse(select.column_text(0), nullptr, false);
        if (json.is_discarded())
            return make_error(Errc::corruption, db_.path() + ": a plan body is not JSON");
        TIERCEL_ASSIGN(auto plan, plan_from_json(json));
        plans.push_back(std::move(plan));
    }
    return plans;
}

Result<std::vector<AuditEntry>> PlanStore::load_audit(size_t limit) {
    TIERCEL_ASSIGN(auto select, db_.prepare("SELECT seq, time, plan_id, action, target, event, actor, detail FROM "
                                            "(SELECT * FROM audit ORDER BY seq DESC LIMIT ?) ORDER BY seq"));
    select.bind(1, static_cast<int64_t>(limit));
    std::vector<AuditEntry> entries;
    for (;;) {
        TIERCEL_ASSIGN(bool row, select.step());
        if (!row)
            break;
        entries.push_back({select.column_int64(0), select.column_int64(1), select.column_int64(2),
                           select.column_text(3), select.column_text(4), select.column_text(5),
                           select.column_text(6), select.column_text(7)});
    }
    return entries;
}

Result<std::map<std::string, std::string>> PlanStore::load_state() {
    TIERCEL_ASSIGN(auto select, db_.prepare("SELECT key, value FROM planner_state"));
    std::map<std::string, std::string> state;
    for (;;) {
        TIERCEL_ASSIGN(bool row, select.step());
        if (!row)
            break;
        state[select.column_text(0)] = select.column_text(1);
    }
    return state;
}

Status PlanStore::save_plan(const Plan& plan) {
    TIERCEL_ASSIGN(auto upsert, db_.prepare("INSERT INTO plans (id, action, target, state, created, updated, body) "
                                            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                                            "state = excluded.state, updated = excluded.updated, body = excluded.body"));
    upsert.bind(1, plan.id)
        .bind(2, to_string(plan.action))
        .bind(3, plan.target)
        .bind(4, to_string(plan.state))
        .bind(5, plan.created)
        .bind(6, plan.updated)
        .bind(7, to_json(plan).dump());
    return upsert.run();
}

Status PlanStore::append_audit(const AuditEntry& entry) {
    TIERCEL_ASSIGN(auto insert, db_.prepare("INSERT INTO audit (time, plan_id, action, target, event, actor, detail) "
                                            "VALUES (?, ?, ?, ?, ?, ?, ?)"));
    insert.bind(1, entry.time)
        .bind(2, entry.plan_id)
        .bind(3, entry.action)
        .bind(4, entry.target)
        .bind(5, entry.event)
        .bind(6, entry.actor)
        .bind(7, entry.detail);
    return insert.run();
}

Status PlanStore::save_state(const std::string& key, const std::string& value) {
    TIERCEL_ASSIGN(auto upsert, db_.prepare("INSERT INTO planner_state (key, value) VALUES (?, ?) "
                                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
    upsert.bind(1, key).bind(2, value);
    return upsert.run();
}

Status PlanStore::erase_state(const std::string& key) {
    TIERCEL_ASSIGN(auto erase, db_.prepare("DELETE FROM planner_state WHERE key = ?"));
    erase.bind(1, key);
    return erase.run();
}

}  // namespace tiercel::planner
