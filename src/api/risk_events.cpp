// Publishes "disk_risk_changed" events: after every SMART poll, each disk whose risk level differs from the last poll
// gets an event (source "health"). It listens through HealthService::on_update(), so the health module itself needs
// no knowledge of the event log's consumers.
#include <map>
#include <memory>

#include "tiercel/api/api.hpp"
#include "tiercel/core/events.hpp"
#include "tiercel/health/health_service.hpp"

namespace tiercel::api {
namespace {

events::Level level_for(health::RiskLevel level) {
    switch (level) {
    case health::RiskLevel::failing: return events::Level::error;
    case health::RiskLevel::at_risk: return events::Level::warning;
    default: return events::Level::info;
    }
}

}  // namespace

void publish_disk_risk_changes(health::HealthService& health) {
    auto last = std::make_shared<std::map<std::string, health::RiskLevel>>();
    health.on_update([&health, last] {
        for (const auto& disk : health.snapshot()) {
            auto previous = last->find(disk.target.id);
            bool changed = previous == last->end() ? disk.risk.level != health::RiskLevel::ok &&
                                                         disk.risk.level != health::RiskLevel::unknown
                                                   : previous->second != disk.risk.level;
            std::string before = previous == last->end() ? "unknown" : std::string(to_string(previous->second));
            (*last)[disk.target.id] = disk.risk.level;
            if (!changed)
                continue;
            std::string now(to_string(disk.risk.level));
            std::string why = disk.risk.explanation.empty() ? "" : ": " + disk.risk.explanation.front().detail;
            events::publish(level_for(disk.risk.level), "health", "disk_risk_changed",
                            "disk " + disk.target.id + " (" + disk.target.path + ") is " + now + why,
                            {{"disk", disk.target.id},
                             {"path", disk.target.path},
                             {"from", before},
                             {"to", now},
                             {"score", disk.risk.score}});
        }
    });
}

}  // namespace tiercel::api
