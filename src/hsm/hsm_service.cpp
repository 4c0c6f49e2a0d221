// The HSM daemon service: catalog, targets, interceptor; marks restored before serving; API jobs off the loop.
#include "tiercel/hsm/hsm_service.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <future>

#include <boost/asio/post.hpp>

#include "tiercel/core/events.hpp"
#include "tiercel/core/log.hpp"
#include "hsm_log.hpp"
#include "tiercel/hsm/guardian.hpp"
#include "tiercel/hsm/policy_runner.hpp"
#include "tiercel/hsm/report.hpp"
#include "tiercel/hsm/retention.hpp"
#include "tiercel/pool/pool_service.hpp"

namespace tiercel::hsm {
namespace {
}

HsmService::HsmService(Daemon& daemon, pool::PoolService* pool_service)
    : daemon_(daemon), pool_service_(pool_service) {}

HsmService::~HsmService() {
    policy_.reset();
    jobs_.join();
    interceptor_.reset();
    if (guardian_link_ >= 0)
        ::close(guardian_link_);
}

Status HsmService::start() {
    const HsmConfig& config = daemon_.config().hsm;
    if (!config.configured) {
        log::info(kLogComponent, "no [hsm] section: the HSM service is idle");
        return {};
    }
    TIERCEL_ASSIGN(auto catalog, Catalog::open(config.catalog_path(daemon_.config().state_dir)));
    catalog_ = std::make_unique<SharedCatalog>(std::move(catalog));
    TIERCEL_ASSIGN(auto job_catalog, Catalog::open(config.catalog_path(daemon_.config().state_dir)));
    job_catalog_.emplace(std::move(job_catalog));
    pool::Pool* pool = pool_service_ ? pool_service_->pool() : nullptr;
    pool::PoolGate gate = pool_service_ ? pool_service_->gate() : pool::PoolGate();
    TIERCEL_ASSIGN(targets_, make_targets(config, pool, daemon_.config().state_dir + "/hsm", gate));
    InterceptorOptions options;
    options.recall_timeout = config.recall_timeout;
    options.processes = config.processes;
    if (const char* delay = std::getenv("TIERCEL_HSM_TEST_RECALL_DELAY_MS"))
        options.test_delay = std::chrono::milliseconds(std::atoll(delay));
    TIERCEL_ASSIGN(auto group, guarded_group(daemon_.config().state_dir, &create_pre_content_group));
    guardian_link_ = group.link_fd;
    log::notice(kLogComponent, std::string(group.adopted ? "adopted the fanotify group kept by guardian pid "
                                                     : "created the fanotify group; guardian pid ") +
                               std::to_string(group.guardian_pid));
    interceptor_ = std::make_unique<Interceptor>(daemon_.loop(), *catalog_, targets_, options, group.group_fd);
    TIERCEL_TRY(restore_marks());
    interceptor_->start();
    TIERCEL_ASSIGN(auto policy_catalog, Catalog::open(config.catalog_path(daemon_.config().state_dir)));
    policy_ = std::make_unique<PolicyRunner>(
        config, std::move(policy_catalog), targets_, [this](int fd) { return interceptor_->mark_fd(fd); },
        archive_mutex_, !daemon_.config().planner.enabled);
    if (daemon_.config().planner.enabled)
        log::notice(kLogComponent, "policy: stubbing under space pressure is left to the planner (hsm_stub plans)");
    policy_->start();  // the initial scan runs on the runner's thread: readiness does not wait for it
    return {};
}

Status HsmService::restore_marks() {
    TIERCEL_ASSIGN(auto stubs, catalog_->with([](Catalog& c) { return c.files("stub"); }));
    TIERCEL_ASSIGN(auto partial, catalog_->with([](Catalog& c) { return c.files("partial"); }));
    stubs.insert(stubs.end(), partial.begin(), partial.end());
    size_t marked = 0;
    for (const auto& file : stubs) {
        if (auto done = interceptor_->mark_path(file.path); !done)
            log::error(kLogComponent, "cannot guard stub " + file.path + ": " + done.error().describe());
        else
            ++marked;
    }
    if (!interceptor_->range_first())
        log::warning(kLogComponent, "this kernel has no FAN_PRE_ACCESS (Linux 6.14+): falling back to FAN_OPEN_PERM, "
                                "so a stub is recalled whole before its open returns");
    log::notice(kLogComponent, std::string("interceptor ready (") + interceptor_->mark_name() + "): " +
                               std::to_string(marked) + " of " + std::to_string(stubs.size()) +
                               " stubs marked from the catalog");
    return {};
}

void HsmService::stop() {
    if (policy_)
        policy_->stop();
    if (interceptor_)
        interceptor_->stop();
}

Result<nlohmann::json> HsmService::status_json() {
    if (!active())
        return make_error(Errc::not_found, "no [hsm] section in the config: the HSM is off");
    nlohmann::json watched = usage();
    return catalog_->with([&](Catalog& catalog) -> Result<nlohmann::json> {
        TIERCEL_ASSIGN(auto counts, catalog.counts_by_state());
        TIERCEL_ASSIGN(auto events, catalog.recent_events(20));
        nlohmann::json by_state = nlohmann::json::object();
        for (const auto& [state, count] : counts)
            by_state[state] = count;
        nlohmann::json recent = nlohmann::json::array();
        for (const auto& e : events)
            recent.push_back({{"at_ns", e.at_ns}, {"kind", e.kind}, {"path", e.path}, {"detail", e.detail}});
        nlohmann::json recalls = nlohmann::json::array();
        for (const auto& r : interceptor_->recent())
            recalls.push_back({{"at_ns", r.at_ns}, {"path", r.path}, {"bytes", r.bytes}, {"seconds", r.seconds},
                               {"outcome", r.outcome}});
        auto s = interceptor_->stats();
        nlohmann::json stats = {{"events", s.events},       {"allowed", s.allowed},
                                {"denied", s.denied},       {"timed_out", s.timed_out},
                                {"bypassed", s.bypassed},   {"recalls_completed", s.recalls_completed},
                                {"recalls_failed", s.recalls_failed}, {"bytes_recalled", s.bytes_filled},
                                {"marks_added", s.marks},   {"truncates", s.truncates},
                                {"mode", interceptor_->mark_name()}};
        return nlohmann::json{{"watched", watched}, {"counts", by_state}, {"recent_events", recent},
                              {"recent_recalls", recalls}, {"interceptor", stats}, {"policy", policy_ ? policy_->status() : nlohmann::json(nullptr)}};
    });
}

nlohmann::json HsmService::usage() const {
    const HsmConfig& config = daemon_.config().hsm;
    nlohmann::json watched = nlohmann::json::array();
    for (const auto& path : config.watch) {
        WatchUsage usage = usage_of(config, path);
        nlohmann::json entry = {{"path", path}, {"high_water", config.high_water}, {"low_water", config.low_water}};
        if (usage.total_bytes > 0) {
            entry["size_bytes"] = usage.total_bytes;
            entry["used_bytes"] = usage.used_bytes;
            entry["used_fraction"] = usage.used_fraction;
            entry["above_high_water"] = usage.above_high_water;
            entry["bytes_to_free"] = usage.bytes_to_free;
        } else {
            entry["error"] = "cannot statvfs";
        }
        watched.push_back(entry);
    }
    return watched;
}

Status HsmService::water_mark_pass() {
    if (!active() || !policy_)
        return make_error(Errc::not_found, "no [hsm] section in the config: the HSM is off");
    return policy_->space_pass();
}

Result<nlohmann::json> HsmService::file_json(const std::string& path) {
    if (!active())
        return make_error(Errc::not_found, "no [hsm] section in the config: the HSM is off");
    return catalog_->with([&](Catalog& catalog) { return describe_file(catalog, path, false); });
}

Status HsmService::queue_stub(const std::vector<std::string>& paths) {
    if (!active())
        return make_error(Errc::not_found, "no [hsm] section in the config: the HSM is off");
    events::publish(events::Level::info, "hsm", "stub_batch", std::to_string(paths.size()) + " files queued to stub",
                    {{"files", paths.size()}});
    for (const auto& path : paths)
        boost::asio::post(jobs_, [this, path] { stub_one(path); });
    return {};
}

Status HsmService::queue_premigrate(const std::vector<std::string>& paths) {
    if (!active())
        return make_error(Errc::not_found, "no [hsm] section in the config: the HSM is off");
    events::publish(events::Level::info, "hsm", "archive_batch",
                    std::to_string(paths.size()) + " files queued to archive", {{"files", paths.size()}});
    for (const auto& path : paths)
        boost::asio::post(jobs_, [this, path] { premigrate_one(path); });
    return {};
}

Status HsmService::queue_recall(const std::vector<std::string>& paths) {
    if (!active())
        return make_error(Errc::not_found, "no [hsm] section in the config: the HSM is off");
    events::publish(events::Level::info, "hsm", "recall_batch",
                    std::to_string(paths.size()) + " files queued to recall", {{"files", paths.size()}});
    for (const auto& path : paths)
        boost::asio::post(jobs_, [this, path] { recall_one(path); });
    return {};
}

Status HsmService::set_pinned(const std::string& path, bool pinned) {
    if (!active())
        return make_error(Errc::not_found, "no [hsm] section in the config: the HSM is off");
    return catalog_->with([&](Catalog& catalog) -> Status {
        TIERCEL_ASSIGN(auto id, catalog.ensure_file(path));
        return catalog.set_pinned(id, pinned);
    });
}

void HsmService::stub_one(const std::string& path) {
    auto pinned = catalog_->with([&](Catalog& c) { return c.file_by_path(path); });
    if (pinned && *pinned && (*pinned)->pinned) {
        log::notice(kLogComponent, path + " is pinned: not stubbed");
        (void)catalog_->with([&](Catalog& c) { return c.add_event("stub-failed", path, "pinned"); });
        return;
    }
    // The hole punch may raise a pre-content event on this thread: the interceptor lets it through (BypassScope).
    std::lock_guard archive(archive_mutex_);
    BypassScope bypass;
    auto done = catalog_->with([&](Catalog& catalog) {
        return stub(catalog, path, [this](int fd) { return interceptor_->mark_fd(fd); });
    });
    if (!done) {
        log::error(kLogComponent, "stub " + path + ": " + done.error().describe());
        events::publish(events::Level::error, "hsm", "stub_failed", "stub " + path + ": " + done.error().describe(),
                        {{"path", path}});
        (void)catalog_->with([&](Catalog& c) { return c.add_event("stub-failed", path, done.error().describe()); });
    } else
        log::info(kLogComponent, "stubbed " + path);
}

void HsmService::premigrate_one(const std::string& path) {
    std::vector<Target*> targets;
    for (const auto& target : targets_.all)
        targets.push_back(target.get());
    std::lock_guard archive(archive_mutex_);
    auto done = premigrate(*job_catalog_, targets, path, daemon_.config().hsm.compression_level);
    if (!done) {
        log::error(kLogComponent, "premigrate " + path + ": " + done.error().describe());
        events::publish(events::Level::error, "hsm", "archive_failed",
                        "archive " + path + ": " + done.error().describe(), {{"path", path}});
        (void)job_catalog_->add_event("premigrate-failed", path, done.error().describe());
    } else if (done->already) {
        (void)job_catalog_->add_event("premigrate", path, "already current");
    } else if (auto pruned = apply_retention(*job_catalog_, targets_, daemon_.config().hsm, done->file_id); !pruned) {
        log::warning(kLogComponent, "retention for " + path + ": " + pruned.error().describe());
    }
}

void HsmService::recall_one(const std::string& path) {
    // An ordinary read from a thread outside BypassScope: the interceptor recalls the range and starts the rest.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log::error(kLogComponent, "recall " + path + ": " + std::string(strerror(errno)));
        return;
    }
    char byte;
    if (::pread(fd, &byte, 1, 0) < 0)
        log::error(kLogComponent, "recall " + path + ": " + std::string(strerror(errno)));
    ::close(fd);
}

Result<ScanReport> HsmService::space_pass(const std::optional<std::string>& stub_under, uint64_t budget_bytes) {
    if (!active())
        return make_error(Errc::not_found, "no [hsm] section in the config: the HSM is off");
    const HsmConfig& config = daemon_.config().hsm;
    auto now = [] {
        return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    // Its own connection: the walk is long and the interceptor must keep the shared catalog.
    TIERCEL_ASSIGN(auto catalog, Catalog::open(config.catalog_path(daemon_.config().state_dir)));
    TIERCEL_ASSIGN(ScanReport report, scan(config, catalog, now()));
    if (!stub_under)
        return report;
    std::vector<const Decision*> chosen;
    for (const auto& file : report.files)
        if (file.action == "stub" && file.path.rfind(*stub_under + "/", 0) == 0)
            chosen.push_back(&file);
    std::stable_sort(chosen.begin(), chosen.end(),
                     [](const Decision* a, const Decision* b) { return a->idle_seconds > b->idle_seconds; });
    std::vector<std::string> paths;
    uint64_t bytes = 0;
    for (const Decision* file : chosen) {
        if (budget_bytes > 0 && bytes >= budget_bytes)
            break;
        paths.push_back(file->path);
        bytes += file->size;
    }
    std::promise<void> finished;
    boost::asio::post(jobs_, [&] {
        for (const auto& path : paths)
            stub_one(path);
        finished.set_value();
    });
    finished.get_future().wait();
    return scan(config, catalog, now());
}

}  // namespace tiercel::hsm
