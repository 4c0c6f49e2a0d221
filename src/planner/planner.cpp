// The planner's candidates and guards (include/tiercel/planner/planner.hpp).
#include "tiercel/planner/planner.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>

#include "tiercel/core/units.hpp"

namespace tiercel::planner {
namespace {

std::string fixed(double value, int digits = 2) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    return buffer;
}

std::string ago(int64_t seconds) { return format_duration(std::chrono::seconds(std::max<int64_t>(seconds, 0))); }

std::string redundancy(const PoolFacts& pool) { return std::to_string(pool.k) + "+" + std::to_string(pool.m); }

size_t usable_disks(const PoolFacts& pool, std::optional<uint32_t> excluding = std::nullopt) {
    return static_cast<size_t>(std::count_if(pool.disks.begin(), pool.disks.end(), [&](const DiskFacts& disk) {
        return disk.usable() && (!excluding || disk.id != *excluding);
    }));
}

// Distinct failure domains among the usable disks ("" = the disk is a domain of its own).
size_t usable_domains(const PoolFacts& pool) {
    std::set<std::string> domains;
    for (const auto& disk : pool.disks)
        if (disk.usable())
            domains.insert(disk.failure_domain.empty() ? "disk:" + disk.name : "domain:" + disk.failure_domain);
    return domains.size();
}

// Shards on disks that are offline and not retired: they no longer count towards k+m.
uint64_t stranded_shards(const PoolFacts& pool, std::string* where) {
    uint64_t stranded = 0;
    for (const auto& disk : pool.disks)
        if (!disk.online && disk.state != "retired" && disk.shards > 0) {
            stranded += disk.shards;
            if (where)
                *where += (where->empty() ? "" : ", ") + disk.name;
        }
    return stranded;
}

// A usable disk holding no shard while the pool holds stripes: one just added (add-disk or a replacement).
std::vector<const DiskFacts*> fresh_disks(const PoolFacts& pool) {
    std::vector<const DiskFacts*> fresh;
    if (pool.stripes_total == 0)
        return fresh;
    for (const auto& disk : pool.disks)
        if (disk.usable() && disk.shards == 0)
            fresh.push_back(&disk);
    return fresh;
}

const DiskFacts* find_disk(const PoolFacts& pool, std::optional<uint32_t> id) {
    if (!id)
        return nullptr;
    for (const auto& disk : pool.disks)
        if (disk.id == *id)
            return &disk;
    return nullptr;
}

double max_latency(const PoolFacts& pool, std::string* which) {
    double worst = 0;
    for (const auto& disk : pool.disks)
        if (disk.online && disk.latency_ms > worst) {
            worst = disk.latency_ms;
            if (which)
                *which = disk.name;
        }
    return worst;
}

void set_budget(Plan& plan, const PlannerConfig& config) {
    plan.budget_bytes = config.budget_bytes;
    plan.budget_seconds = std::chrono::duration_cast<std::chrono::seconds>(config.budget_time).count();
}

// ---- candidates ------------------------------------------------------------------------------------------------

std::optional<Plan> scrub_candidate(const PoolFacts& pool, const PlannerState& state, const PlannerConfig& config) {
    if (pool.stripes_total == 0)
        return std::nullopt;
    int64_t interval = std::chrono::duration_cast<std::chrono::seconds>(config.scrub_interval).count();
    int64_t since = state.last_full_scrub.value_or(state.first_seen);
    if (!state.scrub_unfinished && state.now - since < interval)
        return std::nullopt;
    Plan plan;
    plan.action = Action::scrub;
    plan.target = "pool";
    if (state.scrub_unfinished) {
        plan.reason = "the last scrub pass stopped at its budget: continue it";
    } else if (state.last_full_scrub) {
        plan.reason = "the last full scrub finished " + ago(state.now - *state.last_full_scrub) + " ago (every " +
                      format_duration(config.scrub_interval) + ")";
    } else {
        plan.reason = "no full scrub recorded since the planner first saw the pool " + ago(state.now - since) +
                      " ago (every " + format_duration(config.scrub_interval) + ")";
    }
    plan.facts.push_back({"stripes", std::to_string(pool.stripes_total), "stripes a full pass reads"});
    plan.explanation.push_back(plan.reason);
    plan.expected_effect = "every shard's checksum and every metadata replica checked; bad shards rewritten from "
                           "redundancy";
    set_budget(plan, config);
    return plan;
}

std::optional<Plan> heal_candidate(const PoolFacts& pool) {
    std::string where;
    uint64_t stranded = stranded_shards(pool, &where);
    if (pool.stripes_degraded == 0 && stranded == 0)
        return std::nullopt;
    Plan plan;
    plan.action = Action::heal;
    plan.target = "pool";
    plan.reason = pool.stripes_degraded > 0
                      ? std::to_string(pool.stripes_degraded) + " stripes are degraded"
                      : std::to_string(stranded) + " shards are on offline disks (" + where + ")";
    plan.facts.push_back({"stripes_degraded", std::to_string(pool.stripes_degraded), "stripes below k+m shards"});
    plan.facts.push_back({"stripes_lost", std::to_string(pool.stripes_lost), "stripes that cannot be rebuilt"});
    if (stranded)
        plan.facts.push_back({"shards_offline", std::to_string(stranded), "shards on " + where});
    plan.explanation.push_back(plan.reason + ": rebuild them to full " + redundancy(pool) + " redundancy");
    plan.expected_effect = "every stripe back to " + redundancy(pool) + " shards on usable disks";
    return plan;
}

// Re-protection after add-disk: stripes below k+m shards on distinct usable disks, and a disk that joined empty gives
// them somewhere to go. It runs as a heal (executor.cpp), which places each missing shard away from the disks and
// failure domains of the stripe's other shards, so the new disk takes them.
std::optional<Plan> reprotect_candidate(const PoolFacts& pool) {
    std::string where;
    uint64_t stranded = stranded_shards(pool, &where);
    auto fresh = fresh_disks(pool);
    if (fresh.empty() || (pool.stripes_degraded == 0 && stranded == 0))
        return std::nullopt;
    std::string names;
    for (const auto* disk : fresh)
        names += (names.empty() ? "" : ", ") + disk->name + (disk->failure_domain.empty()
                                                                 ? std::string()
                                                                 : " (failure domain " + disk->failure_domain + ")");
    Plan plan;
    plan.action = Action::reprotect;
    plan.target = "pool";
    plan.reason = std::to_string(pool.stripes_degraded) + " stripes lack " + redundancy(pool) +
                  " shards on distinct usable disks" + (stranded ? " (" + std::to_string(stranded) +
                                                                       " shards on offline " + where + ")"
                                                                 : std::string()) +
                  " and " + names + " joined the pool empty";
    plan.facts.push_back({"stripes_degraded", std::to_string(pool.stripes_degraded),
                          "stripes below k+m shards on usable disks"});
    if (stranded)
        plan.facts.push_back({"shards_offline", std::to_string(stranded), "shards on " + where});
    for (const auto* disk : fresh)
        plan.facts.push_back({disk->name + ".shards", "0", "added empty, " + format_size(disk->free_bytes) + " free" +
                                                               (disk->failure_domain.empty()
                                                                    ? std::string(", a failure domain of its own")
                                                                    : ", failure domain " + disk->failure_domain)});
    plan.facts.push_back({"usable_failure_domains", std::to_string(usable_domains(pool)),
                          std::to_string(pool.k + pool.m) + " needed for " + redundancy(pool) + " stripes"});
    plan.explanation.push_back(plan.reason);
    plan.explanation.push_back("rebuild every missing shard onto a usable disk outside the stripe's other disks and "
                               "failure domains; the new disk makes room for them");
    plan.expected_effect = "every stripe back to " + redundancy(pool) +
                           " shards on distinct usable disks and failure domains; a rebalance may follow to fill the "
                           "new disk to its share";
    return plan;
}

// HSM space pressure: one plan per watched filesystem above its high water mark, stubbing the policy's choice
// (premigrated, unpinned, coldest first) down to the low water mark. Filesystems without pressure, or with nothing to
// stub, are returned as rejections so the dry run says why nothing happens.
std::vector<Plan> hsm_stub_candidates(const PoolFacts& pool, const PlannerConfig& config,
                                      std::vector<Rejection>& rejected) {
    std::vector<Plan> plans;
    if (!pool.hsm_present)
        return plans;
    for (const auto& watch : pool.watched) {
        std::string used = fixed(watch.used_fraction * 100, 1) + "%";
        std::string high = fixed(watch.high_water * 100, 0) + "%";
        std::string low = fixed(watch.low_water * 100, 0) + "%";
        if (!watch.error.empty()) {
            rejected.push_back({"hsm_stub", watch.path, "facts", "cannot read its usage: " + watch.error});
            continue;
        }
        if (watch.used_fraction <= watch.high_water) {
            rejected.push_back({"hsm_stub", watch.path, "no_pressure",
                                watch.path + " is " + used + " used, not above its high water mark " + high +
                                    ": nothing to stub"});
            continue;
        }
        uint64_t stub_bytes = 0;
        for (const auto& file : watch.stub)
            stub_bytes += file.size;
        if (watch.stub.empty()) {
            rejected.push_back({"hsm_stub", watch.path, "nothing_to_stub",
                                watch.path + " is " + used + " used (high water " + high +
                                    ") but holds no premigrated, unpinned file: premigration must copy files to "
                                    "their targets before any can be stubbed"});
            continue;
        }
        Plan plan;
        plan.action = Action::hsm_stub;
        plan.target = watch.path;
        plan.reason = watch.path + " is " + used + " used, above its high water mark " + high + ": stub " +
                      std::to_string(watch.stub.size()) + " premigrated files (" + format_size(stub_bytes) +
                      "), coldest first, to get below " + low;
        plan.facts.push_back({watch.path + ".used", used, format_size(watch.total_bytes) + " filesystem"});
        plan.facts.push_back({watch.path + ".water_marks", high + " / " + low, "high / low water"});
        plan.facts.push_back({watch.path + ".bytes_to_free", std::to_string(watch.bytes_to_free),
                              format_size(watch.bytes_to_free) + " to reach the low water mark"});
        plan.facts.push_back({watch.path + ".stub_files", std::to_string(watch.stub.size()),
                              format_size(stub_bytes) + "; coldest " + watch.stub.front().path + " idle " +
                                  ago(watch.stub.front().idle_seconds)});
        plan.explanation.push_back(plan.reason);
        plan.explanation.push_back("every file stubbed is already premigrated: its data stays on its targets and a "
                                   "read recalls it; redundancy of the copies is untouched");
        if (stub_bytes < watch.bytes_to_free)
            plan.explanation.push_back("the premigrated files free only " + format_size(stub_bytes) + " of the " +
                                       format_size(watch.bytes_to_free) + " needed: premigration must catch up");
        plan.expected_effect = watch.path + " below its high water mark " + high + " (aiming at " + low +
                               "), with " + std::to_string(watch.stub.size()) + " files left as stubs";
        set_budget(plan, config);
        plans.push_back(std::move(plan));
    }
    return plans;
}

std::vector<Plan> drain_candidates(const PoolFacts& pool, const PlannerConfig& config) {
    std::vector<Plan> plans;
    for (const auto& disk : pool.disks) {
        bool at_risk = disk.risk == health::RiskLevel::at_risk || disk.risk == health::RiskLevel::failing;
        if (!at_risk || disk.state != "active")
            continue;
        Plan plan;
        plan.action = Action::drain;
        plan.target = disk.name;
        plan.disk_id = disk.id;
        std::string top = disk.risk_explanation.empty() ? std::string() : disk.risk_explanation.front().detail;
        plan.reason = disk.name + " is " + std::string(health::to_string(disk.risk)) +
                      (top.empty() ? std::string() : ": " + top);
        plan.facts.push_back({disk.name + ".risk", fixed(disk.risk_score) + " (" +
                                                       std::string(health::to_string(disk.risk)) + ")",
                              "risk score and level"});
        plan.facts.push_back({disk.name + ".at_risk_polls", std::to_string(disk.at_risk_polls),
                              "consecutive polls at risk; " + std::to_string(config.drain_confirm_polls) +
                                  " confirm a drain"});
        for (const auto& fact : disk.risk_explanation)
            if (fact.weight > 0)
                plan.facts.push_back({fact.fact, "weight " + fixed(fact.weight), fact.detail});
        plan.facts.push_back({disk.name + ".shard_bytes", std::to_string(disk.shard_bytes),
                              std::to_string(disk.shards) + " shards, " + format_size(disk.shard_bytes)});
        plan.explanation.push_back(disk.name + " has been " + std::string(health::to_string(disk.risk)) +
                                   " (score " + fixed(disk.risk_score) + ") for " +
                                   std::to_string(disk.at_risk_polls) + " consecutive polls");
        for (const auto& fact : disk.risk_explanation)
            if (fact.weight > 0)
                plan.explanation.push_back(fact.detail + " (weight " + fixed(fact.weight) + ")");
        plan.expected_effect = "every shard of " + disk.name + " (" + format_size(disk.shard_bytes) +
                               ") moved to other disks with " + redundancy(pool) +
                               " redundancy kept throughout; the disk is then retired and can be removed";
        set_budget(plan, config);
        plans.push_back(std::move(plan));
    }
    return plans;
}

std::optional<Plan> rebalance_candidate(const PoolFacts& pool, const PlannerConfig& config) {
    const DiskFacts* fullest = nullptr;
    const DiskFacts* emptiest = nullptr;
    for (const auto& disk : pool.disks) {
        if (!disk.usable())
            continue;
        if (!fullest || disk.share > fullest->share)
            fullest = &disk;
        if (!emptiest || disk.share < emptiest->share)
            emptiest = &disk;
    }
    if (!fullest || fullest == emptiest || pool.stripes_total == 0)
        return std::nullopt;
    double spread = fullest->share - emptiest->share;
    if (spread <= config.rebalance_skew)
        return std::nullopt;
    Plan plan;
    plan.action = Action::rebalance;
    plan.target = "pool";
    plan.reason = "fill shares spread " + fixed(spread) + " (" + fullest->name + " " + fixed(fullest->share) + ", " +
                  emptiest->name + " " + fixed(emptiest->share) + ") above " + fixed(config.rebalance_skew);
    plan.facts.push_back({fullest->name + ".share", fixed(fullest->share), "fullest disk relative to its weight"});
    plan.facts.push_back({emptiest->name + ".share", fixed(emptiest->share), "emptiest disk relative to its weight"});
    plan.explanation.push_back(plan.reason);
    plan.expected_effect = "every usable disk's fill within 10% of its capacity share";
    set_budget(plan, config);
    return plan;
}

// ---- guards ----------------------------------------------------------------------------------------------------

using Guard = std::function<std::optional<GuardVerdict>(const Plan&, const PoolFacts&, const PlannerState&,
                                                        const PlannerConfig&)>;

std::optional<GuardVerdict> guard_confirmation(const Plan& plan, const PoolFacts& pool, const PlannerState&,
                                               const PlannerConfig& config) {
    if (plan.action != Action::drain)
        return std::nullopt;
    const DiskFacts* disk = find_disk(pool, plan.disk_id);
    if (!disk || disk->at_risk_polls >= config.drain_confirm_polls)
        return std::nullopt;
    return GuardVerdict{"confirmation",
                        disk->name + " has been at risk for " + std::to_string(disk->at_risk_polls) + " of the " +
                            std::to_string(config.drain_confirm_polls) +
                            " consecutive polls that confirm a drain: waiting for more evidence",
                        true};
}

std::optional<GuardVerdict> guard_redundancy(const Plan& plan, const PoolFacts& pool, const PlannerState&,
                                             const PlannerConfig&) {
    size_t needed = static_cast<size_t>(pool.k + pool.m);
    if (plan.action == Action::drain) {
        size_t left = usable_disks(pool, plan.disk_id);
        if (left < needed)
            return GuardVerdict{"redundancy",
                                "draining " + plan.target + " would leave " + std::to_string(left) +
                                    " usable disks for " + redundancy(pool) + " stripes (" + std::to_string(needed) +
                                    " needed): redundancy is never planned below k+m",
                                false};
    } else if (plan.action == Action::reprotect) {
        size_t domains = usable_domains(pool);
        if (domains < needed)
            return GuardVerdict{"redundancy",
                                "only " + std::to_string(domains) + " usable failure domains (" +
                                    std::to_string(usable_disks(pool)) + " usable disks) for " + redundancy(pool) +
                                    " stripes (" + std::to_string(needed) +
                                    " needed): the new disk cannot restore full redundancy; add a disk in another "
                                    "failure domain",
                                false};
    } else if (plan.action == Action::hsm_stub) {
        if (pool.present && (pool.stripes_degraded > 0 || pool.stripes_lost > 0))
            return GuardVerdict{"redundancy",
                                "the pool has " + std::to_string(pool.stripes_degraded) + " degraded and " +
                                    std::to_string(pool.stripes_lost) +
                                    " lost stripes: stubbing would leave a pool copy below " + redundancy(pool) +
                                    " as a file's only data; heal first",
                                true};
    } else if (plan.action == Action::heal || plan.action == Action::rebalance) {
        size_t usable = usable_disks(pool);
        if (usable < needed)
            return GuardVerdict{"redundancy",
                                "only " + std::to_string(usable) + " usable disks for " + redundancy(pool) +
                                    " stripes (" + std::to_string(needed) + " needed): add or bring back a disk first",
                                false};
    }
    return std::nullopt;
}

std::optional<GuardVerdict> guard_capacity(const Plan& plan, const PoolFacts& pool, const PlannerState&,
                                           const PlannerConfig& config) {
    if (plan.action != Action::drain)
        return std::nullopt;
    const DiskFacts* leaving = find_disk(pool, plan.disk_id);
    if (!leaving)
        return std::nullopt;
    uint64_t free = 0, capacity = 0;
    for (const auto& disk : pool.disks)
        if (disk.usable() && disk.id != leaving->id) {
            free += disk.free_bytes;
            capacity += disk.capacity;
        }
    auto reserve = static_cast<uint64_t>(static_cast<double>(capacity) * config.reserve);
    if (free >= leaving->shard_bytes + reserve)
        return std::nullopt;
    return GuardVerdict{"capacity",
                        "the other usable disks have " + format_size(free) + " free; moving " + leaving->name + "'s " +
                            format_size(leaving->shard_bytes) + " must leave the " +
                            std::to_string(static_cast<int>(config.reserve * 100 + 0.5)) + "% reserve (" +
                            format_size(reserve) + ")",
                        false};
}

std::optional<GuardVerdict> guard_duplicate(const Plan& plan, const PoolFacts&, const PlannerState& state,
                                            const PlannerConfig&) {
    auto it = state.open.find(plan.key());
    if (it == state.open.end() || it->second == plan.id)
        return std::nullopt;
    return GuardVerdict{"duplicate", "plan " + std::to_string(it->second) + " already covers " + plan.key(), true};
}

std::optional<GuardVerdict> guard_cooldown(const Plan& plan, const PoolFacts&, const PlannerState& state,
                                           const PlannerConfig& config) {
    auto it = state.last_run.find(plan.key());
    int64_t cooldown = std::chrono::duration_cast<std::chrono::seconds>(config.cooldown).count();
    if (it == state.last_run.end() || state.now - it->second >= cooldown)
        return std::nullopt;
    if (plan.action == Action::scrub && state.scrub_unfinished)
        return std::nullopt;  // continuing a budgeted pass is not a repeat
    return GuardVerdict{"cooldown",
                        plan.key() + " last ran " + ago(state.now - it->second) + " ago; the cooldown of " +
                            format_duration(config.cooldown) + " leaves " + ago(it->second + cooldown - state.now),
                        true};
}

std::optional<GuardVerdict> guard_one_at_a_time(const Plan& plan, const PoolFacts&, const PlannerState& state,
                                                const PlannerConfig&) {
    if (!state.running || plan.action == Action::hsm_stub)  // a hole punch on a local filesystem: no pool I/O
        return std::nullopt;
    return GuardVerdict{"one_at_a_time", *state.running + " is running: one disruptive action at a time", true};
}

std::optional<GuardVerdict> guard_throttle(const Plan& plan, const PoolFacts& pool, const PlannerState&,
                                           const PlannerConfig& config) {
    if (plan.action == Action::heal || plan.action == Action::drain || plan.action == Action::reprotect)
        return std::nullopt;  // restoring redundancy goes ahead; the operation itself backs off on latency
    if (plan.action == Action::hsm_stub)
        return std::nullopt;  // stubbing reads nothing and frees local space: it does not compete with pool I/O
    std::string which;
    double latency = max_latency(pool, &which);
    if (latency <= config.max_foreground_latency_ms)
        return std::nullopt;
    return GuardVerdict{"throttle",
                        "foreground latency " + fixed(latency, 1) + " ms on " + which + " is above " +
                            fixed(config.max_foreground_latency_ms, 0) + " ms: background work waits",
                        true};
}

const std::vector<Guard>& planning_guards() {
    static const std::vector<Guard> guards{guard_confirmation, guard_redundancy, guard_capacity, guard_duplicate,
                                           guard_cooldown,     guard_one_at_a_time, guard_throttle};
    return guards;
}

std::vector<PlanFact> pool_facts(const PoolFacts& pool, const PlannerState& state) {
    std::vector<PlanFact> facts;
    facts.push_back({"redundancy", redundancy(pool), "k data + m parity shards per stripe"});
    facts.push_back({"usable_disks", std::to_string(usable_disks(pool)), "online and active member disks"});
    facts.push_back({"stripes_degraded", std::to_string(pool.stripes_degraded), ""});
    facts.push_back({"stripes_lost", std::to_string(pool.stripes_lost), ""});
    std::string which;
    facts.push_back({"max_latency_ms", fixed(max_latency(pool, &which), 1), which});
    facts.push_back({"last_full_scrub", state.last_full_scrub ? std::to_string(*state.last_full_scrub) : "never",
                     "Unix time"});
    if (state.running)
        facts.push_back({"running", *state.running, ""});
    for (const auto& disk : pool.disks)
        facts.push_back({disk.name + ".risk", std::string(health::to_string(disk.risk)),
                         "score " + fixed(disk.risk_score) + ", " + disk.state + (disk.online ? "" : ", offline") +
                             (disk.risk_explanation.empty() ? "" : "; " + disk.risk_explanation.front().detail)});
    return facts;
}

}  // namespace

bool auto_approves(const PlannerConfig& config, Action action) {
    auto named = [&](Action which) {
        return std::find(config.auto_approve.begin(), config.auto_approve.end(), to_string(which)) !=
               config.auto_approve.end();
    };
    // reprotect is the heal a new disk makes possible: it follows heal's policy unless named itself.
    return named(action) || (action == Action::reprotect && named(Action::heal));
}

Evaluation evaluate(const PoolFacts& pool, const PlannerState& state, const PlannerConfig& config) {
    Evaluation evaluation;
    std::vector<Plan> candidates;
    if (!pool.present) {
        evaluation.facts.push_back({"pool", "none", "no pool is configured: no pool maintenance to plan"});
    } else {
        evaluation.facts = pool_facts(pool, state);
        if (auto reprotect = reprotect_candidate(pool))
            candidates.push_back(std::move(*reprotect));  // covers what heal would do, onto the new disk
        else if (auto heal = heal_candidate(pool))
            candidates.push_back(std::move(*heal));
        for (auto& drain : drain_candidates(pool, config))
            candidates.push_back(std::move(drain));
        if (auto scrub = scrub_candidate(pool, state, config))
            candidates.push_back(std::move(*scrub));
        if (auto rebalance = rebalance_candidate(pool, config))
            candidates.push_back(std::move(*rebalance));
    }
    for (const auto& watch : pool.watched)
        evaluation.facts.push_back({"hsm:" + watch.path, fixed(watch.used_fraction * 100, 1) + "% used",
                                    "high water " + fixed(watch.high_water * 100, 0) + "%, low water " +
                                        fixed(watch.low_water * 100, 0) + "%"});
    for (auto& stub : hsm_stub_candidates(pool, config, evaluation.rejected))
        candidates.push_back(std::move(stub));

    for (auto& plan : candidates) {
        std::optional<GuardVerdict> verdict;
        for (const auto& guard : planning_guards())
            if ((verdict = guard(plan, pool, state, config)))
                break;
        if (verdict) {
            evaluation.rejected.push_back(
                {std::string(to_string(plan.action)), plan.target, verdict->guard, verdict->reason});
            continue;
        }
        bool automatic = auto_approves(config, plan.action) && !state.paused.count(plan.action);
        plan.explanation.push_back(
            automatic ? std::string(to_string(plan.action)) + " is approved automatically ([planner] auto_approve)"
            : state.paused.count(plan.action)
                ? "automation of " + std::string(to_string(plan.action)) +
                      " is stopped after a failed verification: a person must approve"
                : std::string(to_string(plan.action)) + " needs approval by a person");
        plan.created = plan.updated = state.now;
        evaluation.would_run.push_back(std::move(plan));
    }
    for (auto& plan : evaluation.would_run)
        plan.rejected_candidates = evaluation.rejected;
    return evaluation;
}

std::optional<GuardVerdict> check_execution(const Plan& plan, const PoolFacts& pool, const PlannerState& state,
                                            const PlannerConfig& config) {
    for (const auto& guard : {guard_redundancy, guard_capacity, guard_one_at_a_time, guard_throttle})
        if (auto verdict = guard(plan, pool, state, config))
            return verdict;
    if (plan.action == Action::drain) {
        const DiskFacts* disk = find_disk(pool, plan.disk_id);
        if (!disk)
            return GuardVerdict{"target", plan.target + " is no longer a member of the pool", false};
    }
    return std::nullopt;
}

}  // namespace tiercel::planner
