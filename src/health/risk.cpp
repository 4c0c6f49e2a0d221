// The risk model (include/tiercel/health/risk.hpp; weights and their sources in docs/modules/health.md).
#include "tiercel/health/risk.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace tiercel::health {
namespace {

constexpr double kWatchScore = 0.10;
constexpr double kAtRiskScore = 0.40;
constexpr double kFailingScore = 0.80;
constexpr double kMaxEscalation = 3.0;
constexpr double kExitFactor = 0.75;
constexpr double kEscalationHalfLife = 24 * 3600.0;
constexpr size_t kRecentValues = 5;

// ATA counters whose raw value above 0 predicts failure (Backblaze, "What SMART Stats Tell Us About Hard Drives",
// 2016: share of failed vs. working drives with the counter above 0). `alone`: at risk on that fact alone.
struct AtaSignal {
    int id;
    double weight;
    bool alone;
    const char* meaning;
};
constexpr AtaSignal kAtaSignals[] = {
    {5, 0.12, false, "reallocated sectors"},         // 42.2% of failed drives vs 1.1% of working ones
    {187, 0.45, true, "uncorrectable errors"},       // 43.5% vs 0.5%
    {188, 0.10, false, "command timeouts"},          // 44.8% vs 4.7%
    {197, 0.45, true, "pending sectors"},            // 43.1% vs 0.9%
    {198, 0.45, true, "offline uncorrectable sectors"},  // 33.0% vs 0.8%
};

std::string format_ms(double value) {
    std::ostringstream out;
    out.precision(value < 10 ? 2 : 3);
    out << value << " ms";
    return out.str();
}

std::string join_values(const std::deque<uint64_t>& values) {
    std::string out;
    for (uint64_t value : values)
        out += (out.empty() ? "" : " -> ") + std::to_string(value);
    return out;
}

double magnitude(uint64_t count) {  // 1 -> 1.0, 10 -> 1.5, 100+ -> 2.0
    return std::min(2.0, 1.0 + std::log10(static_cast<double>(std::max<uint64_t>(count, 1))) / 2.0);
}

std::string prefixed(const std::string& prefix, const std::string& key) {
    return prefix.empty() ? key : prefix + ":" + key;
}

}  // namespace

std::string_view to_string(RiskLevel level) {
    switch (level) {
    case RiskLevel::ok: return "ok";
    case RiskLevel::watch: return "watch";
    case RiskLevel::at_risk: return "at_risk";
    case RiskLevel::failing: return "failing";
    case RiskLevel::unknown: break;
    }
    return "unknown";
}

int severity(RiskLevel level) {
    switch (level) {
    case RiskLevel::unknown: return 0;
    case RiskLevel::ok: return 1;
    case RiskLevel::watch: return 2;
    case RiskLevel::at_risk: return 3;
    case RiskLevel::failing: return 4;
    }
    return 0;
}

double entry_score(RiskLevel level) {
    switch (level) {
    case RiskLevel::watch: return kWatchScore;
    case RiskLevel::at_risk: return kAtRiskScore;
    case RiskLevel::failing: return kFailingScore;
    default: return 0;
    }
}

RiskLevel level_for_score(double score) {
    if (score >= kFailingScore)
        return RiskLevel::failing;
    if (score >= kAtRiskScore)
        return RiskLevel::at_risk;
    if (score >= kWatchScore)
        return RiskLevel::watch;
    return RiskLevel::ok;
}

double RiskTracker::remember(const std::string& key, uint64_t value, std::string& trend) {
    auto [it, fresh] = counters_.try_emplace(key);
    CounterMemory& memory = it->second;
    if (!fresh && value > memory.value) {
        memory.rising_polls += 1;
        memory.escalation = std::min(kMaxEscalation, memory.escalation + 1.0);
    } else if (!fresh) {
        // Quiet: the escalation halves every kEscalationHalfLife seconds, whatever the poll interval.
        memory.rising_polls = 0;
        memory.escalation *= std::pow(0.5, static_cast<double>(elapsed_) / kEscalationHalfLife);
        if (memory.escalation < 0.05)
            memory.escalation = 0;
    }
    memory.value = value;
    memory.recent.push_back(value);
    if (memory.recent.size() > kRecentValues)
        memory.recent.pop_front();
    if (memory.acknowledged_at && *memory.acknowledged_at != value)
        memory.acknowledged_at.reset();  // it changed: it speaks again
    if (memory.rising_polls > 0)
        trend = "rising over " + std::to_string(memory.rising_polls) + " consecutive poll" +
                (memory.rising_polls == 1 ? "" : "s") + " (" + join_values(memory.recent) + ")";
    else if (memory.escalation > 0)
        trend = "stopped rising, decaying (" + join_values(memory.recent) + ")";
    else
        trend = "steady";
    if (memory.acknowledged_at) {
        trend += "; acknowledged at " + std::to_string(*memory.acknowledged_at);
        return 0;
    }
    return 1.0 + 0.5 * memory.escalation;
}

void RiskTracker::add_counter(std::vector<RiskFact>& facts, const std::string& key, uint64_t value, double base_weight,
                              const std::string& what) {
    std::string trend;
    double factor = remember(key, value, trend);
    if (value == 0)
        return;
    facts.push_back({key, std::min(0.95, base_weight * factor), what + " " + std::to_string(value) + ", " + trend});
}

RiskAssessment RiskTracker::observe(const std::vector<SmartReport>& reports, const DiskSignals& signals,
                                    const RiskConfig& config, int64_t now) {
    elapsed_ = last_time_ ? std::max<int64_t>(0, now - *last_time_) : 0;
    last_time_ = now;
    std::vector<RiskFact> facts;
    bool alone_at_risk = false;
    bool failed = false;
    bool any_smart = false;
    for (const auto& report : reports) {
        std::string prefix = reports.size() > 1 ? report.device : std::string();
        if (!report.has_data() && report.status == SmartStatus::unknown) {
            facts.push_back({prefixed(prefix, "smart"), 0, "no SMART data: " + report.reason});
            continue;
        }
        any_smart = true;
        if (report.status == SmartStatus::failed) {
            failed = true;
            failed_seen_ = true;
            facts.push_back({prefixed(prefix, "smart_status"), 1.0, "the drive's own SMART verdict is FAILED"});
        } else if (failed_seen_) {
            // A verdict that flickers back to PASSED does not clear the drive: it stays at risk until acknowledged.
            alone_at_risk = true;
            facts.push_back({prefixed(prefix, "smart_status"), 0.5,
                             "the drive's SMART verdict was FAILED on an earlier poll (acknowledge smart_status to "
                             "clear)"});
        }
        if (report.status == SmartStatus::unknown) {
            facts.push_back({prefixed(prefix, "smart_status"), 0, report.reason});
        }
        for (const auto& signal : kAtaSignals) {
            const SmartAttribute* attribute = report.attribute(signal.id);
            if (!attribute)
                continue;
            std::string what = "attribute " + std::to_string(signal.id) + " " + attribute->name + " (" +
                               signal.meaning + ") raw";
            size_t before = facts.size();
            add_counter(facts, prefixed(prefix, "ata." + std::to_string(signal.id)), attribute->raw,
                        signal.weight * magnitude(attribute->raw), what);
            if (facts.size() > before && facts.back().weight > 0 && signal.alone)
                alone_at_risk = true;
        }
        for (const auto& attribute : report.attributes)
            if (attribute.failing_now) {
                alone_at_risk = true;
                facts.push_back({prefixed(prefix, "ata." + std::to_string(attribute.id) + ".threshold"), 0.5,
                                 "attribute " + std::to_string(attribute.id) + " " + attribute.name +
                                     " is at or below its threshold now"});
            }
        if (report.nvme) {
            const NvmeHealth& nvme = *report.nvme;
            if (nvme.critical_warning != 0) {
                alone_at_risk = true;
                facts.push_back({prefixed(prefix, "nvme.critical_warning"), 0.6,
                                 "NVMe critical_warning is " + std::to_string(nvme.critical_warning)});
            }
            add_counter(facts, prefixed(prefix, "nvme.media_errors"), nvme.media_errors,
                        0.3 * magnitude(nvme.media_errors), "NVMe media errors");
            if (nvme.available_spare < nvme.available_spare_threshold) {
                alone_at_risk = true;
                facts.push_back({prefixed(prefix, "nvme.available_spare"), 0.6,
                                 "NVMe available spare " + std::to_string(nvme.available_spare) +
                                     "% is under its threshold " + std::to_string(nvme.available_spare_threshold) +
                                     "%"});
            }
            if (nvme.percentage_used >= 90)
                facts.push_back({prefixed(prefix, "nvme.percentage_used"), nvme.percentage_used >= 100 ? 0.3 : 0.15,
                                 "NVMe endurance used " + std::to_string(nvme.percentage_used) + "%"});
        }
        if (report.scsi) {
            if (report.scsi->grown_defects)
                add_counter(facts, prefixed(prefix, "scsi.grown_defects"), *report.scsi->grown_defects, 0.05,
                            "SCSI grown defect list entries");
            add_counter(facts, prefixed(prefix, "scsi.uncorrected_errors"),
                        report.scsi->uncorrected_read_errors + report.scsi->uncorrected_write_errors, 0.3,
                        "SCSI uncorrected read and write errors");
        }
        if (report.temperature_c && *report.temperature_c > config.temperature_warn_c) {
            int64_t t = *report.temperature_c;
            double span = static_cast<double>(std::max<int64_t>(1, config.temperature_crit_c - config.temperature_warn_c));
            double weight = t >= config.temperature_crit_c
                                ? 0.25
                                : 0.05 + 0.15 * static_cast<double>(t - config.temperature_warn_c) / span;
            facts.push_back({prefixed(prefix, "temperature"), weight,
                             "temperature " + std::to_string(t) + " C is above " +
                                 std::to_string(t >= config.temperature_crit_c ? config.temperature_crit_c
                                                                               : config.temperature_warn_c) +
                                 " C"});
        }
    }
    add_counter(facts, "pool.read_errors", signals.read_errors, 0.1 * magnitude(signals.read_errors),
                "pool read errors");
    add_counter(facts, "pool.write_errors", signals.write_errors, 0.1 * magnitude(signals.write_errors),
                "pool write errors");
    add_counter(facts, "pool.checksum_errors", signals.checksum_errors, 0.15 * magnitude(signals.checksum_errors),
                "pool checksum failures");
    if (signals.latency_ms) {
        double latency = *signals.latency_ms;
        if (!latency_baseline_)
            latency_baseline_ = latency;
        double baseline = std::max(*latency_baseline_, 0.5);
        if (latency > config.latency_factor * baseline && latency > 2.0) {
            facts.push_back({"latency", 0.15,
                             "latency " + format_ms(latency) + " is " +
                                 std::to_string(static_cast<int>(latency / baseline)) + "x its baseline " +
                                 format_ms(baseline)});
        } else {
            *latency_baseline_ = 0.95 * *latency_baseline_ + 0.05 * latency;  // the baseline learns only calm values
        }
    }
    if (signals.free_fraction && *signals.free_fraction < 0.05)
        facts.push_back({"capacity", 0.1,
                         "capacity pressure: " + std::to_string(static_cast<int>(*signals.free_fraction * 100)) +
                             "% free"});

    double keep = 1.0;
    for (const auto& fact : facts)
        keep *= 1.0 - std::clamp(fact.weight, 0.0, 1.0);
    RiskAssessment assessment;
    assessment.score = std::clamp(1.0 - keep, 0.0, 1.0);
    if (failed)
        assessment.score = 1.0;
    else if (alone_at_risk)
        assessment.score = std::max(assessment.score, 0.5);
    assessment.level = level_for_score(assessment.score);
    // Hysteresis: a level is left only when the score falls clearly below its entry (kExitFactor of it), so a
    // counter that rises on most polls but not all does not swing a disk between watch and at_risk.
    if (any_smart && severity(assessment.level) < severity(last_.level) &&
        severity(last_.level) >= severity(RiskLevel::watch) && assessment.score >= kExitFactor * entry_score(last_.level))
        assessment.level = last_.level;
    if (!any_smart && severity(assessment.level) < severity(RiskLevel::at_risk))
        assessment.level = RiskLevel::unknown;
    std::stable_sort(facts.begin(), facts.end(), [](const RiskFact& a, const RiskFact& b) { return a.weight > b.weight; });
    assessment.explanation = std::move(facts);
    bool at_risk = assessment.level == RiskLevel::at_risk || assessment.level == RiskLevel::failing;
    assessment.at_risk_polls = at_risk ? last_.at_risk_polls + 1 : 0;
    last_ = assessment;
    return assessment;
}

Status RiskTracker::acknowledge(const std::string& counter) {
    if (counter == "smart_status" && failed_seen_) {
        failed_seen_ = false;
        return {};
    }
    auto it = counters_.find(counter);
    if (it == counters_.end())
        it = counters_.find("ata." + counter);
    if (it == counters_.end())
        return make_error(Errc::not_found, "no counter '" + counter + "' on this disk; known: " + [this] {
            std::string known;
            for (const auto& name : counters())
                known += (known.empty() ? "" : ", ") + name;
            return known.empty() ? std::string("none yet") : known;
        }());
    it->second.acknowledged_at = it->second.value;
    it->second.escalation = 0;
    it->second.rising_polls = 0;
    return {};
}

std::map<std::string, uint64_t> RiskTracker::acknowledgements() const {
    std::map<std::string, uint64_t> out;
    for (const auto& [name, memory] : counters_)
        if (memory.acknowledged_at)
            out[name] = *memory.acknowledged_at;
    return out;
}

void RiskTracker::restore_acknowledgement(const std::string& counter, uint64_t value) {
    // As if the counter had been seen at `value` and acknowledged there: remember() then compares the next poll
    // against it. `recent` stays empty: explanations list only values this daemon observed.
    CounterMemory& memory = counters_[counter];
    memory.value = value;
    memory.acknowledged_at = value;
}

std::vector<std::string> RiskTracker::counters() const {
    std::vector<std::string> names;
    for (const auto& [name, memory] : counters_)
        names.push_back(name);
    return names;
}

}  // namespace tiercel::health
