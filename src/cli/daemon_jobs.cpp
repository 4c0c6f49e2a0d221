#include "tiercel/cli/daemon_jobs.hpp"

#include <iostream>
#include <memory>
#include <thread>

#include "tiercel/cli/daemon_client.hpp"
#include "tiercel/cli/progress.hpp"

namespace tiercel::cli {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);

// Follows the job until it leaves "running", drawing progress and forwarding one cancel request.
Result<nlohmann::json> follow_job(const Config& config, uint64_t id, bool json_progress,
                                  const std::atomic<bool>& cancel) {
    const std::string target = "/api/v1/pool/jobs/" + std::to_string(id);
    std::unique_ptr<Progress> progress;
    uint64_t reported = 0;
    bool cancel_sent = false;
    for (;;) {
        if (cancel.load() && !cancel_sent) {
            cancel_sent = true;
            auto reply = daemon_request(config, "POST", target + "/cancel");
            if (reply && !reply->ok() && reply->status != 400)
                return daemon_error(*reply);
            std::cerr << "\ncancelling job " << id << " after the stripes in flight...\n";
        }
        TIERCEL_ASSIGN(DaemonReply reply, daemon_request(config, "GET", target));
        if (!reply.ok())
            return daemon_error(reply);
        const nlohmann::json& job = reply.body;
        const auto& step = job["progress"];
        uint64_t total = step.value("total_bytes", uint64_t{0});
        uint64_t done = step.value("done_bytes", uint64_t{0});
        if (!progress && total > 0)
            progress = std::make_unique<Progress>(job.value("operation", "job"), total, json_progress);
        if (progress && done > reported) {
            progress->advance(done - reported);
            reported = done;
        }
        if (job.value("state", "") != "running") {
            if (progress)
                progress->finish();
            return job;
        }
        std::this_thread::sleep_for(kPollInterval);
    }
}

}  // namespace

Result<nlohmann::json> run_daemon_job(const Config& config, const nlohmann::json& request, bool json_progress,
                                      const std::atomic<bool>& cancel) {
    TIERCEL_ASSIGN(DaemonReply started, daemon_request(config, "POST", "/api/v1/pool/jobs", &request));
    if (!started.ok())
        return daemon_error(started);
    uint64_t id = started.body.value("id", uint64_t{0});
    std::cerr << "the daemon holds the pool: running " << request.value("operation", "") << " there as job " << id
              << " (Ctrl-C cancels it; progress is kept)\n";
    return follow_job(config, id, json_progress, cancel);
}

}  // namespace tiercel::cli
