#include "tiercel/api/overview.hpp"

#include "tiercel/core/events.hpp"
#include "tiercel/health/health_service.hpp"
#include "tiercel/hsm/hsm_service.hpp"
#include "tiercel/planner/planner_service.hpp"
#include "tiercel/pool/maintenance_jobs.hpp"
#include "tiercel/pool/pool_service.hpp"

namespace tiercel::api {
namespace {

using nlohmann::json;

uint64_t usable(uint64_t raw, const pool::PoolStatus& status) {
    int width = status.k + status.m;
    return width > 0 ? raw / static_cast<uint64_t>(width) * static_cast<uint64_t>(status.k) : raw;
}

void add_capacity(PoolOverview& out, const pool::PoolStatus& status) {
    for (const auto& disk : status.disks) {
        if (!disk.online || disk.state == "retired")
            continue;
        out.raw_total_bytes += disk.capacity;
        out.raw_free_bytes += disk.free_bytes;
        json& tier = out.tiers[disk.tier];
        if (tier.is_null())
            tier = {{"total_bytes", 0}, {"free_bytes", 0}, {"used_bytes", 0}, {"disks", 0}};
        uint64_t used = disk.capacity > disk.free_bytes ? disk.capacity - disk.free_bytes : 0;
        tier["total_bytes"] = tier.value("total_bytes", uint64_t{0}) + disk.capacity;
        tier["free_bytes"] = tier.value("free_bytes", uint64_t{0}) + disk.free_bytes;
        tier["used_bytes"] = tier.value("used_bytes", uint64_t{0}) + used;
        tier["disks"] = tier.value("disks", 0) + 1;
    }
    out.usable_total_bytes = usable(out.raw_total_bytes, status);
    out.usable_free_bytes = usable(out.raw_free_bytes, status);
    out.logical_bytes = status.logical_bytes;
}

PoolOverview pool_overview(pool::PoolService& service, Overview& overview) {
    PoolOverview out;
    auto access = service.try_access();
    if (!access) {
        bool busy = access.error().code() == Errc::busy;
        out.state = busy ? "busy" : "unavailable";
        out.reason = access.error().message();
        if (!busy)
            overview.alerts.push_back({"critical", "the pool is unavailable: " + out.reason});
        return out;
    }
    pool::PoolStatus status = (**access).status();
    out.name = status.name;
    add_capacity(out, status);
    int offline = 0;
    for (const auto& disk : status.disks)
        if (!disk.online && disk.state != "retired") {
            ++offline;
            overview.alerts.push_back({"warning", "pool disk " + disk.name + " is offline: " + disk.offline_reason});
        }
    out.redundancy = {{"k", status.k},
                      {"m", status.m},
                      {"stripes_healthy", status.stripes_healthy},
                      {"stripes_degraded", status.stripes_degraded},
                      {"stripes_lost", status.stripes_lost},
                      {"disks_offline", offline},
                      {"fully_redundant", status.stripes_degraded == 0 && status.stripes_lost == 0 && offline == 0}};
    out.state = status.stripes_lost > 0                           ? "critical"
                : status.stripes_degraded > 0 || offline > 0 ? "degraded"
                                                                  : "ok";
    if (status.stripes_lost > 0)
        overview.alerts.push_back({"critical", std::to_string(status.stripes_lost) + " stripes of pool " +
                                                   status.name + " are lost (more shards missing than parity)"});
    if (status.stripes_degraded > 0)
        overview.alerts.push_back({"warning", std::to_string(status.stripes_degraded) + " stripes of pool " +
                                                  status.name + " lack full redundancy"});
    out.maintenance = nullptr;
    if (service.jobs())
        if (auto job = service.jobs()->running())
            out.maintenance = pool::to_json(*job);
    return out;
}

void add_disks(health::HealthService& health, Overview& overview) {
    for (const auto& disk : health.snapshot()) {
        ++overview.disks_total;
        bool failing = disk.risk.level == health::RiskLevel::failing;
        if (!failing && disk.risk.level != health::RiskLevel::at_risk)
            continue;
        ++overview.disks_at_risk;
        overview.disks_failing += failing ? 1 : 0;
        std::string why = disk.risk.explanation.empty() ? "" : ": " + disk.risk.explanation.front().detail;
        overview.alerts.push_back({failing ? "critical" : "warning", "disk " + disk.target.id + " (" +
                                                                          disk.target.path + ") is " +
                                                                          std::string(to_string(disk.risk.level)) + why});
    }
}

void add_hsm(hsm::HsmService& hsm, Overview& overview) {
    auto status = hsm.status_json();
    if (!status)
        return;
    json summary = {{"watched", status->value("watched", json::array())},
                    {"counts", status->value("counts", json::object())}};
    for (const auto& watched : summary["watched"])
        if (watched.value("above_high_water", false)) {
            overview.hsm_above_high_water = true;
            overview.alerts.push_back({"warning", watched.value("path", std::string("?")) +
                                                      " is above its high water mark"});
        }
    overview.hsm = summary;
}

std::optional<std::string> last_scrub() {
    auto event = events::bus().latest([](const events::Event& e) {
        return e.kind == "job_finished" && e.data.value("operation", std::string()) == "scrub" &&
               e.data.value("state", std::string()) == "done";
    });
    return event ? std::optional<std::string>(event->time) : std::nullopt;
}

void decide_state(Overview& overview) {
    bool critical = false, warning = false;
    for (const Alert& alert : overview.alerts) {
        critical |= alert.level == "critical";
        warning |= alert.level == "warning";
    }
    overview.state = critical ? "critical" : warning ? "warning" : "ok";
    // The worst alert is the summary; with none, say what is fine.
    for (const char* level : {"critical", "warning", "info"})
        for (const Alert& alert : overview.alerts)
            if (overview.summary.empty() && alert.level == level)
                overview.summary = alert.message;
    if (overview.summary.empty()) {
        overview.summary = "All is well: " + std::to_string(overview.disks_total) + " disks healthy";
        if (overview.pool)
            overview.summary += ", pool " + overview.pool->name + " fully redundant";
        overview.summary += ".";
    } else if (overview.alerts.size() > 1) {
        overview.summary += " (and " + std::to_string(overview.alerts.size() - 1) + " more)";
    }
}

}  // namespace

Overview gather_overview(ApiContext& context) {
    Overview overview;
    if (context.pool)
        overview.pool = pool_overview(*context.pool, overview);
    if (context.health)
        add_disks(*context.health, overview);
    if (context.planner) {
        overview.plans_pending = static_cast<int>(context.planner->list(planner::PlanState::proposed).size());
        for (const std::string& alert : context.planner->alerts())
            overview.alerts.push_back({"warning", alert});
        if (*overview.plans_pending > 0)
            overview.alerts.push_back({"info", std::to_string(*overview.plans_pending) +
                                                   " maintenance plans wait for approval"});
    }
    if (context.hsm && context.hsm->active())
        add_hsm(*context.hsm, overview);
    overview.last_scrub = last_scrub();
    decide_state(overview);
    return overview;
}

json status_json(const Overview& overview) {
    json pool = nullptr;
    if (overview.pool) {
        const PoolOverview& p = *overview.pool;
        pool = {{"name", p.name},
                {"state", p.state},
                {"capacity",
                 {{"raw_total_bytes", p.raw_total_bytes},
                  {"raw_free_bytes", p.raw_free_bytes},
                  {"usable_total_bytes", p.usable_total_bytes},
                  {"usable_free_bytes", p.usable_free_bytes},
                  {"logical_bytes", p.logical_bytes},
                  {"tiers", p.tiers}}},
                {"redundancy", p.redundancy},
                {"maintenance", p.maintenance}};
        if (!p.reason.empty())
            pool["reason"] = p.reason;
    }
    json alerts = json::array();
    for (const Alert& alert : overview.alerts)
        alerts.push_back({{"level", alert.level}, {"message", alert.message}});
    return {{"state", overview.state},
            {"summary", overview.summary},
            {"pool", pool},
            {"disks", {{"total", overview.disks_total}, {"at_risk", overview.disks_at_risk}}},
            {"plans", {{"pending", overview.plans_pending.value_or(0)}}},
            {"hsm", overview.hsm ? *overview.hsm : json(nullptr)},
            {"last_scrub", overview.last_scrub ? json(*overview.last_scrub) : json(nullptr)},
            {"alerts", alerts}};
}

json ha_json(const Overview& overview) {
    const PoolOverview* pool = overview.pool ? &*overview.pool : nullptr;
    const bool degraded = pool && pool->state != "ok" && pool->state != "busy";
    return {{"state", overview.state},
            {"summary", overview.summary},
            {"pool_state", pool ? json(pool->state) : json("none")},
            {"pool_total_bytes", pool ? pool->usable_total_bytes : 0},
            {"pool_free_bytes", pool ? pool->usable_free_bytes : 0},
            {"pool_used_bytes", pool && pool->usable_total_bytes > pool->usable_free_bytes
                                    ? pool->usable_total_bytes - pool->usable_free_bytes
                                    : 0},
            {"pool_logical_bytes", pool ? pool->logical_bytes : 0},
            {"disks_total", overview.disks_total},
            {"disks_at_risk", overview.disks_at_risk},
            {"disks_failing", overview.disks_failing},
            {"plans_pending", overview.plans_pending.value_or(0)},
            {"maintenance_running", pool && !pool->maintenance.is_null()},
            {"last_scrub", overview.last_scrub ? json(*overview.last_scrub) : json(nullptr)},
            {"alerts", overview.alerts.size()},
            {"problem", overview.state != "ok"},
            {"problem_critical", overview.state == "critical"},
            {"problem_pool_degraded", degraded},
            {"problem_disk_at_risk", overview.disks_at_risk > 0},
            {"problem_hsm_above_high_water", overview.hsm_above_high_water},
            {"problem_plans_pending", overview.plans_pending.value_or(0) > 0}};
}

}  // namespace tiercel::api
