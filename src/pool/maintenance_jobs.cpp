#include "tiercel/pool/maintenance_jobs.hpp"

#include "tiercel/core/events.hpp"
#include "tiercel/core/log.hpp"
#include "tiercel/core/units.hpp"
#include "tiercel/io/posix_disk.hpp"
#include "tiercel/pool/fsck.hpp"
#include "tiercel/pool/pool_json.hpp"

namespace tiercel::pool {

struct MaintenanceJobs::Job {
    JobState state;
    JobRequest request;
    std::atomic<bool> cancel{false};
    std::chrono::steady_clock::time_point started_steady = std::chrono::steady_clock::now();
};

namespace {

constexpr size_t kKeptJobs = 50;

bool needs_disk(const std::string& operation) {
    return operation == "drain" || operation == "replace" || operation == "remove";
}

bool known_operation(const std::string& operation) {
    for (const char* name : {"scrub", "heal", "drain", "rebalance", "replace", "remove", "add-disk", "fsck"})
        if (operation == name)
            return true;
    return false;
}

// Reads an optional field of the expected JSON type; a present field of another type is an error naming it.
template <typename T>
Status read_field(const nlohmann::json& body, const char* name, T& out) {
    if (!body.contains(name) || body[name].is_null())
        return {};
    const auto& value = body[name];
    bool type_ok = false;
    if constexpr (std::is_same_v<T, std::string>)
        type_ok = value.is_string();
    else if constexpr (std::is_same_v<T, bool>)
        type_ok = value.is_boolean();
    else if constexpr (std::is_floating_point_v<T>)
        type_ok = value.is_number();
    else
        type_ok = value.is_number_unsigned();
    if (!type_ok)
        return Error(Errc::invalid_input, std::string("field '") + name + "' has the wrong type");
    out = value.get<T>();
    return {};
}

std::string iso_time(std::chrono::system_clock::time_point time) {
    std::time_t t = std::chrono::system_clock::to_time_t(time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

std::string outcome_of(const MaintenanceReport& report) {
    if (!report.unrepairable.empty())
        return "failed";
    if (report.complete)
        return "done";
    return report.stopped_because == "cancelled" ? "cancelled" : "stopped";
}

}  // namespace

Status parse_budget(const std::string& text, MaintenanceOptions& options) {
    if (text.empty())
        return {};
    if (auto duration = parse_duration(text)) {
        options.budget_time = *duration;
        return {};
    }
    if (auto size = parse_size(text)) {
        options.budget_bytes = *size;
        return {};
    }
    return Error(Errc::invalid_input, "'" + text + "' is neither a size (10G) nor a duration (30m)");
}

Result<JobRequest> job_request_from_json(const nlohmann::json& body) {
    if (!body.is_object())
        return Error(Errc::invalid_input, "the request body must be a JSON object");
    static const std::set<std::string> kFields = {"operation", "disk", "path", "tier", "failure_domain", "capacity",
                                                  "force", "repair", "budget", "bandwidth", "max_latency_ms",
                                                  "workers", "restart"};
    for (const auto& [key, value] : body.items())
        if (!kFields.count(key))
            return Error(Errc::invalid_input, "unknown field '" + key + "'");
    JobRequest request;
    TIERCEL_TRY(read_field(body, "operation", request.operation));
    if (!known_operation(request.operation))
        return Error(Errc::invalid_input, "field 'operation': '" + request.operation +
                                              "' is not one of scrub, heal, drain, rebalance, replace, remove, "
                                              "add-disk, fsck");
    TIERCEL_TRY(read_field(body, "disk", request.disk));
    if (needs_disk(request.operation) && request.disk.empty())
        return Error(Errc::invalid_input, "field 'disk' is required for " + request.operation);
    TIERCEL_TRY(read_field(body, "path", request.path));
    if ((request.operation == "add-disk" || request.operation == "replace") && request.path.empty())
        return Error(Errc::invalid_input, "field 'path' is required for " + request.operation);
    if (request.operation == "add-disk" && !body.contains("tier"))
        return Error(Errc::invalid_input, "field 'tier' is required for add-disk");
    TIERCEL_TRY(read_field(body, "tier", request.tier));
    TIERCEL_TRY(read_field(body, "failure_domain", request.failure_domain));
    std::string capacity, budget, bandwidth;
    TIERCEL_TRY(read_field(body, "capacity", capacity));
    if (!capacity.empty()) {
        auto size = parse_size(capacity);
        if (!size)
            return Error(Errc::invalid_input, "field 'capacity': '" + capacity + "' is not a size");
        request.capacity = *size;
    }
    TIERCEL_TRY(read_field(body, "force", request.force));
    TIERCEL_TRY(read_field(body, "repair", request.repair));
    TIERCEL_TRY(read_field(body, "budget", budget));
    if (Status status = parse_budget(budget, request.options); !status)
        return Error(Errc::invalid_input, "field 'budget': " + status.error().message());
    TIERCEL_TRY(read_field(body, "bandwidth", bandwidth));
    if (!bandwidth.empty()) {
        auto rate = parse_size(bandwidth);
        if (!rate)
            return Error(Errc::invalid_input, "field 'bandwidth': '" + bandwidth + "' is not a size per second");
        request.options.bandwidth_limit = *rate;
    }
    TIERCEL_TRY(read_field(body, "max_latency_ms", request.options.max_latency_ms));
    TIERCEL_TRY(read_field(body, "workers", request.options.workers));
    if (request.options.workers == 0 || request.options.workers > 64)
        return Error(Errc::invalid_input, "field 'workers' must be between 1 and 64");
    TIERCEL_TRY(read_field(body, "restart", request.options.restart));
    return request;
}

nlohmann::json to_json(const JobState& job) {
    nlohmann::json out = {{"id", job.id},
                          {"operation", job.operation},
                          {"target", job.target},
                          {"state", job.state},
                          {"requested_by", job.requested_by},
                          {"started", iso_time(job.started)},
                          {"finished", job.finished ? nlohmann::json(iso_time(*job.finished)) : nlohmann::json()},
                          {"error", job.error.empty() ? nlohmann::json() : nlohmann::json(job.error)},
                          {"result", job.result}};
    const auto& p = job.progress;
    double left = p.total_bytes > p.done_bytes ? double(p.total_bytes - p.done_bytes) : 0.0;
    out["progress"] = {{"done_bytes", p.done_bytes},
                       {"total_bytes", p.total_bytes},
                       {"stripes_done", p.stripes_done},
                       {"stripes_total", p.stripes_total},
                       {"rate_bytes_per_s", job.rate_bytes_per_s},
                       {"eta_s", job.rate_bytes_per_s > 0 ? nlohmann::json(left / job.rate_bytes_per_s)
                                                          : nlohmann::json()}};
    out["report"] = job.report ? to_json(*job.report) : nlohmann::json();
    return out;
}

Result<JobState> MaintenanceJobs::start(JobRequest request) {
    std::lock_guard lock(mutex_);
    if (active_)
        return Error(Errc::busy, "maintenance job " + std::to_string(active_->state.id) + " (" +
                                     active_->state.operation + " " + active_->state.target +
                                     ") is running; wait for it or cancel it first");
    if (worker_.joinable())
        worker_.join();  // the previous job's thread has finished its work; reap it
    auto job = std::make_shared<Job>();
    job->state.id = next_id_++;
    job->state.operation = request.operation;
    job->state.target = !request.disk.empty() ? request.disk : !request.path.empty() ? request.path : "pool";
    job->state.state = "running";
    job->state.requested_by = request.requested_by;
    job->state.started = std::chrono::system_clock::now();
    job->request = std::move(request);
    jobs_.push_front(job);
    if (jobs_.size() > kKeptJobs)
        jobs_.pop_back();
    active_ = job;
    log::notice("maintenance", "job " + std::to_string(job->state.id) + ": " + job->state.operation + " " +
                                   job->state.target + " started (by " + job->state.requested_by + ")");
    worker_ = std::thread([this, job] { run(job); });
    return job->state;
}

void MaintenanceJobs::run(std::shared_ptr<Job> job) {
    events::publish(events::Level::info, "pool", "job_started",
                    "maintenance job " + std::to_string(job->state.id) + ": " + job->state.operation + " " +
                        job->state.target + " started (" + job->state.requested_by + ")",
                    {{"job_id", job->state.id},
                     {"operation", job->state.operation},
                     {"target", job->state.target},
                     {"requested_by", job->state.requested_by}});
    Result<MaintenanceReport> report = execute(*job);
    std::lock_guard lock(mutex_);
    job->state.finished = std::chrono::system_clock::now();
    if (!report) {
        job->state.state = report.error().code() == Errc::cancelled ? "cancelled" : "failed";
        job->state.error = report.error().describe();
    } else {
        job->state.report = *report;
        job->state.state = outcome_of(*report);
        if (!report->unrepairable.empty())
            job->state.error = std::to_string(report->unrepairable.size()) + " stripes could not be repaired";
    }
    log::notice("maintenance", "job " + std::to_string(job->state.id) + ": " + job->state.operation + " " +
                                   job->state.target + " " + job->state.state +
                                   (job->state.error.empty() ? "" : ": " + job->state.error));
    events::publish(job->state.state == "done"     ? events::Level::info
                    : job->state.state == "failed" ? events::Level::error
                                                   : events::Level::warning,
                    "pool", "job_finished",
                    "maintenance job " + std::to_string(job->state.id) + ": " + job->state.operation + " " +
                        job->state.target + " " + job->state.state +
                        (job->state.error.empty() ? "" : ": " + job->state.error),
                    {{"job_id", job->state.id},
                     {"operation", job->state.operation},
                     {"target", job->state.target},
                     {"state", job->state.state},
                     {"error", job->state.error}});
    active_.reset();
    finished_cv_.notify_all();
}

// fsck has findings rather than a maintenance report: they become the job's result.
MaintenanceReport MaintenanceJobs::run_fsck(Job& job, bool repair) {
    FsckReport findings = fsck_pool(pool_, repair);
    MaintenanceReport report;
    report.operation = "fsck";
    report.complete = true;
    std::lock_guard lock(mutex_);
    job.state.result = to_json(findings);
    return report;
}

Result<MaintenanceReport> MaintenanceJobs::execute(Job& job) {
    JobRequest& request = job.request;
    MaintenanceOptions options = request.options;
    options.cancel = &job.cancel;
    options.on_progress = [this, &job](const MaintenanceProgress& progress) {
        std::lock_guard lock(mutex_);
        job.state.progress = progress;
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - job.started_steady).count();
        job.state.rate_bytes_per_s = seconds > 0 ? double(progress.done_bytes) / seconds : 0;
    };
    const std::string& operation = request.operation;
    auto new_disk = [&](const std::string& default_tier) -> Result<NewDisk> {
        NewDisk disk;
        disk.path = request.path;
        while (disk.path.size() > 1 && disk.path.back() == '/')
            disk.path.pop_back();
        disk.tier = request.tier.empty() ? default_tier : request.tier;
        disk.capacity = request.capacity;
        disk.failure_domain = request.failure_domain;
        disk.force = request.force;
        TIERCEL_ASSIGN(disk.disk, io::PosixDisk::open("new disk", disk.path));
        return disk;
    };

    if (operation == "add-disk" || operation == "remove" || (operation == "fsck" && request.repair)) {
        std::unique_lock exclusive(gate_);
        if (operation == "add-disk") {
            TIERCEL_ASSIGN(NewDisk disk, new_disk("hdd"));
            TIERCEL_ASSIGN(uint32_t id, add_disk(pool_, disk));
            std::lock_guard lock(mutex_);
            job.state.result = {{"disk_id", id}, {"path", disk.path}, {"tier", disk.tier}};
            MaintenanceReport report;
            report.operation = "add-disk";
            report.complete = true;
            report.actions.push_back("added " + disk.path + " as disk" + std::to_string(id));
            return report;
        }
        if (operation == "remove") {
            TIERCEL_ASSIGN(uint32_t id, resolve_disk(pool_, request.disk));
            return remove_disk(pool_, id);
        }
        return run_fsck(job, true);
    }
    if (operation == "replace") {
        // Replace formats the new disk into the member list before it copies: it holds the pool exclusively.
        std::unique_lock exclusive(gate_);
        TIERCEL_ASSIGN(uint32_t old_id, resolve_disk(pool_, request.disk));
        std::string tier = pool_.status().disks.at(old_id).tier;
        TIERCEL_ASSIGN(NewDisk disk, new_disk(tier));
        return replace_disk(pool_, old_id, disk, options);
    }
    std::shared_lock shared(gate_);
    if (operation == "fsck")
        return run_fsck(job, false);
    if (operation == "scrub")
        return scrub_pool(pool_, options);
    if (operation == "heal")
        return heal_pool(pool_, options);
    if (operation == "rebalance")
        return rebalance_pool(pool_, options);
    TIERCEL_ASSIGN(uint32_t id, resolve_disk(pool_, request.disk));
    return drain_disk(pool_, id, options);
}

std::optional<JobState> MaintenanceJobs::get(uint64_t id) const {
    std::lock_guard lock(mutex_);
    for (const auto& job : jobs_)
        if (job->state.id == id)
            return job->state;
    return std::nullopt;
}

std::vector<JobState> MaintenanceJobs::list() const {
    std::lock_guard lock(mutex_);
    std::vector<JobState> out;
    for (const auto& job : jobs_)
        out.push_back(job->state);
    return out;
}

std::optional<JobState> MaintenanceJobs::running() const {
    std::lock_guard lock(mutex_);
    return active_ ? std::optional<JobState>(active_->state) : std::nullopt;
}

Status MaintenanceJobs::cancel(uint64_t id) {
    std::lock_guard lock(mutex_);
    if (active_ && active_->state.id == id) {
        active_->cancel = true;
        return {};
    }
    for (const auto& job : jobs_)
        if (job->state.id == id)
            return Error(Errc::invalid_input, "job " + std::to_string(id) + " is not running (it is " +
                                                  job->state.state + ")");
    return Error(Errc::not_found, "no maintenance job " + std::to_string(id));
}

std::optional<JobState> MaintenanceJobs::wait(uint64_t id, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    finished_cv_.wait_for(lock, timeout, [&] { return !active_ || active_->state.id != id; });
    for (const auto& job : jobs_)
        if (job->state.id == id)
            return job->state;
    return std::nullopt;
}

void MaintenanceJobs::shutdown() {
    {
        std::lock_guard lock(mutex_);
        if (active_)
            active_->cancel = true;
    }
    if (worker_.joinable())
        worker_.join();
}

}  // namespace tiercel::pool
