// Contract: the risk model of one disk — a score in [0, 1], a level, and the facts behind it with their weights.
//  - Signals: ATA attributes 5, 187, 188, 197, 198 (raw > 0, weighted by Backblaze's failure statistics), NVMe
//    critical_warning / media_errors / percentage_used / available_spare, SCSI grown defects and uncorrected errors,
//    the pool's own read, write and checksum errors for the disk, latency EWMA against the disk's own baseline,
//    temperature and capacity pressure. Weights combine as a noisy-or: score = 1 - prod(1 - weight).
//  - A drive whose SMART verdict is FAILED is `failing` on that fact alone (and stays at least at_risk after the verdict
//    flips back, until "smart_status" is acknowledged); pending (197) or uncorrectable (187, 198)
//    sectors, an NVMe critical warning or spare below threshold make it at least `at_risk` on that fact alone.
//  - Memory per counter: each rise escalates its weight (up to 2.5x); a counter that stops rising decays back to its
//    base weight (the escalation halves every 24 hours without a rise, so the memory does not depend on the poll
//    interval); an acknowledged counter weighs nothing until its value changes.
//  - Hysteresis: a disk leaves a level only when its score falls below 75% of that level's entry score.
//  - No SMART data and nothing else against the disk gives level `unknown` (never ok, never failing).
//  - `at_risk_polls` counts consecutive observations at level at_risk or failing (the planner's confirmation).
//  - Not thread-safe: one tracker per disk, used by one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tiercel/core/error.hpp"
#include "tiercel/health/smart.hpp"

namespace tiercel::health {

enum class RiskLevel { ok, watch, at_risk, failing, unknown };
std::string_view to_string(RiskLevel level);
// Severity order for comparisons: unknown < ok < watch < at_risk < failing.
int severity(RiskLevel level);

struct RiskFact {
    std::string fact;    // stable key: "smart_status", "ata.5", "nvme.media_errors", "pool.read_errors", ...
    double weight = 0;   // this fact's contribution before combining
    std::string detail;  // for people: "attribute 5 Reallocated_Sector_Ct raw 24, rising over 2 polls (0 -> 8 -> 24)"
};

struct RiskAssessment {
    double score = 0;
    RiskLevel level = RiskLevel::unknown;
    std::vector<RiskFact> explanation;  // heaviest first
    int at_risk_polls = 0;
};

// What the pool and the I/O layer know about a disk, besides SMART.
struct DiskSignals {
    uint64_t read_errors = 0;
    uint64_t write_errors = 0;
    uint64_t checksum_errors = 0;
    std::optional<double> latency_ms;   // the disk's latency EWMA now
    std::optional<double> free_fraction;  // free / capacity
};

struct RiskConfig {
    int64_t temperature_warn_c = 50;
    int64_t temperature_crit_c = 60;
    double latency_factor = 3.0;
};

class RiskTracker {
public:
    // One observation (one poll). `reports`: the SMART reports of the disk's devices (empty: none could be found).
    // `now`: Unix seconds of the poll (decay is by time, not by poll count).
    RiskAssessment observe(const std::vector<SmartReport>& reports, const DiskSignals& signals,
                           const RiskConfig& config, int64_t now);
    // Quiets a counter ("ata.5", "5", "nvme.media_errors", "pool.checksum_errors", ...) at its current value.
    // Errc::not_found when the tracker has never seen that counter.
    Status acknowledge(const std::string& counter);
    // The acknowledged counters and the value each was acknowledged at (AckStore keeps them across restarts).
    std::map<std::string, uint64_t> acknowledgements() const;
    // Puts back an acknowledgement saved before a restart: the counter stays quiet while the next poll reads `value`;
    // a different value counts as a change (a rise when higher) and the counter speaks again.
    void restore_acknowledgement(const std::string& counter, uint64_t value);
    const RiskAssessment& last() const { return last_; }
    std::vector<std::string> counters() const;

private:
    struct CounterMemory {
        uint64_t value = 0;
        int rising_polls = 0;      // consecutive polls on which it rose
        double escalation = 0;     // 0 .. 3: grows by one on each rise, halves every 24 h without one
        std::deque<uint64_t> recent;  // the last few values, oldest first (for explanations)
        std::optional<uint64_t> acknowledged_at;
    };
    // Updates the memory of `key` and returns the weight multiplier (0 when acknowledged) and a trend phrase.
    double remember(const std::string& key, uint64_t value, std::string& trend);
    void add_counter(std::vector<RiskFact>& facts, const std::string& key, uint64_t value, double base_weight,
                     const std::string& what);

    std::map<std::string, CounterMemory> counters_;
    std::optional<double> latency_baseline_;
    std::optional<int64_t> last_time_;
    bool failed_seen_ = false;  // a FAILED verdict was seen: at risk until acknowledged ("smart_status")
    int64_t elapsed_ = 0;  // seconds since the previous observation
    RiskAssessment last_;
};

// Level for a score, without the "on that fact alone" floors.
RiskLevel level_for_score(double score);

}  // namespace tiercel::health
