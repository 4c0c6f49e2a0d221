// Contract: the HSM as a daemon service. start() opens the catalog and the targets, creates the fanotify group,
// puts a FAN_PRE_ACCESS mark back on every stub and partly recalled file the catalog lists (before the daemon
// reports ready and serves anything), then starts reading events on the core loop. Without an [hsm] section the
// service is idle. `pool` targets use the pool the PoolService opened. Requests from the API (premigrate, stub,
// recall) are queued to a job thread, never run on the loop: the loop must stay free to read the very events a hole
// punch or a recall causes. Once serving, the policy runner (policy_runner.hpp) scans the watched trees on its own
// thread and acts on the rules, water marks and retention by itself; its archiving and the job thread's take turns
// (archive_mutex_).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "tiercel/core/daemon.hpp"
#include "tiercel/core/service.hpp"
#include "tiercel/hsm/interceptor.hpp"
#include "tiercel/hsm/policy.hpp"

namespace tiercel::pool {
class PoolService;
}

namespace tiercel::hsm {

class PolicyRunner;

class HsmService : public Service {
public:
    // `pool_service` (may be null) provides the pool for `pool` targets; it must start before this service.
    HsmService(Daemon& daemon, pool::PoolService* pool_service);
    ~HsmService() override;
    std::string_view name() const override { return "hsm"; }
    Status start() override;
    void stop() override;

    bool active() const { return interceptor_ != nullptr; }
    // GET /api/v1/hsm: watched filesystems vs water marks, counts by state, recent events and recalls.
    Result<nlohmann::json> status_json();
    Result<nlohmann::json> file_json(const std::string& path);
    // Queue stubbing / recalling of files; the caller polls file_json() for the outcome.
    Status queue_stub(const std::vector<std::string>& paths);
    // Premigration in the daemon: for `pool` targets, whose pool only the daemon may open while it runs.
    Status queue_premigrate(const std::vector<std::string>& paths);
    Status queue_recall(const std::vector<std::string>& paths);
    Status set_pinned(const std::string& path, bool pinned);
    // The planner's space pass (hsm_stub plans). Runs the policy's dry run (policy.hpp scan(): usage against the water
    // marks, premigrated files coldest first) on a catalog connection of its own. With `stub_under` set it then stubs
    // the files the policy chose under that watched path, coldest first and at most `budget_bytes` of them (0 = no
    // limit), on the job thread (in order with API requests), waits for them, and scans again so the report shows
    // the usage after. Blocking: call it off the loop. Errc::not_found when the HSM is off.
    Result<ScanReport> space_pass(const std::optional<std::string>& stub_under, uint64_t budget_bytes);
    // Each watched filesystem against the water marks (size, used, above high_water, bytes to free).
    nlohmann::json usage() const;
    // Stub premigrated files, coldest first, on every watched filesystem above high_water (until below low_water),
    // now, on the caller's thread (blocking; not on the core loop).
    Status water_mark_pass();

private:
    Status restore_marks();
    void stub_one(const std::string& path);
    void premigrate_one(const std::string& path);
    void recall_one(const std::string& path);

    Daemon& daemon_;
    pool::PoolService* pool_service_;
    std::unique_ptr<SharedCatalog> catalog_;
    std::optional<Catalog> job_catalog_;  // the job thread's own connection: a long premigration holds no lock
    Targets targets_;
    std::unique_ptr<Interceptor> interceptor_;
    int guardian_link_ = -1;  // open while serving: its closing tells the guardian to answer orphans with EIO
    std::mutex archive_mutex_;  // one premigrate or stub at a time: job thread and policy runner
    boost::asio::thread_pool jobs_{1};
    std::unique_ptr<PolicyRunner> policy_;
};

}  // namespace tiercel::hsm
