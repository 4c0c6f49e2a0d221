// `tiercel pool ...`: create the pool and use its object layer from the command line. These commands open the pool
// themselves and hold its exclusive lock while they run; `pool fsck` (like the maintenance commands) runs inside the
// daemon instead when the daemon holds the pool.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "tiercel/cli/common.hpp"
#include "tiercel/cli/daemon_client.hpp"
#include "tiercel/cli/daemon_jobs.hpp"
#include "tiercel/cli/progress.hpp"
#include "tiercel/core/units.hpp"
#include "tiercel/pool/fsck.hpp"
#include "tiercel/pool/pool_from_config.hpp"
#include "tiercel/pool/pool_json.hpp"

namespace tiercel::cli {
namespace {

struct PoolArgs {
    bool force = false;
    bool repair = false;
    bool json = false;
    std::string key;
    std::string file;
    std::string prefix;
    uint64_t offset = 0;
    std::optional<uint64_t> length;
    uint64_t stripe_id = 0;
};

// Opens the configured pool for one command, or reports why not (and sets the exit code).
std::unique_ptr<pool::PoolHandle> open_pool(CliContext& context, pool::PoolOpenMode mode,
                                            const pool::CreateOptions& options = {}) {
    auto config = load_config_or_report(context);
    if (!config)
        return nullptr;
    auto handle = pool::open_configured_pool(config->pool, mode, options);
    if (!handle) {
        context.exit_code = report_error(mode == pool::PoolOpenMode::create ? "pool create" : "cannot open the pool",
                                         handle.error());
        return nullptr;
    }
    return std::move(*handle);
}

// Prints pool status (pool::to_json(PoolStatus) shape), so the daemon's answer and an offline status look the same.
void print_status(const nlohmann::json& status) {
    auto u64 = [](const nlohmann::json& object, const char* key) {
        return static_cast<unsigned long long>(object.value(key, uint64_t{0}));
    };
    std::printf("pool %s (%s)  %d+%d  chunk %s  compression %s%s\n", status.value("name", "").c_str(),
                status.value("uuid", "").c_str(), status.value("k", 0), status.value("m", 0),
                format_size(status.value("chunk_size", uint64_t{0})).c_str(),
                status.value("compression", "").c_str(), status.value("encrypted", false) ? "  encrypted" : "");
    const auto& stripes = status["stripes"];
    std::printf("objects %llu (%s)   stripes: %llu healthy, %llu degraded, %llu lost\n", u64(status, "objects"),
                format_size(status.value("logical_bytes", uint64_t{0})).c_str(), u64(stripes, "healthy"),
                u64(stripes, "degraded"), u64(stripes, "lost"));
    std::printf("\n%-7s %-5s %-9s %-8s %10s %10s %8s %8s %6s %6s %6s  %s\n", "DISK", "TIER", "STATE", "ONLINE",
                "CAPACITY", "FREE", "SHARDS", "LAT(ms)", "R-ERR", "W-ERR", "CSUM", "PATH");
    for (const auto& disk : status["disks"]) {
        bool online = disk.value("online", false);
        std::string offline = online ? "" : "  (" + disk.value("offline_reason", "") + ")";
        std::printf("%-7s %-5s %-9s %-8s %10s %10s %8llu %8.2f %6llu %6llu %6llu  %s%s%s\n",
                    disk.value("name", "").c_str(), disk.value("tier", "").c_str(), disk.value("state", "").c_str(),
                    online ? "yes" : "NO", format_size(disk.value("capacity_bytes", uint64_t{0})).c_str(),
                    format_size(disk.value("free_bytes", uint64_t{0})).c_str(), u64(disk, "shards"),
                    disk.value("latency_ms", 0.0), u64(disk, "read_errors"), u64(disk, "write_errors"),
                    u64(disk, "checksum_errors"), disk.value("path", "").c_str(),
                    disk.value("meta_replica", false) ? "  [metadata]" : "", offline.c_str());
    }
    const auto& metadata = status["metadata"];
    std::printf("\nmetadata: sequence %llu, replicas:", u64(metadata, "sequence"));
    for (const auto& replica : metadata["replicas"]) {
        std::string stale = replica.value("healthy", false) ? "" : " STALE: " + replica.value("stale_reason", "");
        std::printf(" %s%s", replica.value("disk", "").c_str(), stale.c_str());
    }
    std::printf("\n");
    if (status.contains("maintenance"))
        std::printf("maintenance: job %llu %s %s running\n", u64(status["maintenance"], "id"),
                    status["maintenance"].value("operation", "").c_str(),
                    status["maintenance"].value("target", "").c_str());
}

// `pool status`: from the daemon when it holds the pool, else offline. Exit 1 when stripes are lost.
int status_command(CliContext& context, const PoolArgs& args) {
    auto config = load_config_or_report(context);
    if (!config)
        return context.exit_code;
    nlohmann::json status;
    if (daemon_running(*config)) {
        auto reply = daemon_request(*config, "GET", "/api/v1/pool");
        if (!reply)
            return report_error("pool status", reply.error());
        if (!reply->ok())
            return report_error("pool status", daemon_error(*reply));
        status = reply->body;
    } else {
        auto handle = pool::open_configured_pool(config->pool, pool::PoolOpenMode::open);
        if (!handle)
            return report_error("cannot open the pool", handle.error());
        status = pool::to_json((*handle)->pool().status());
    }
    if (args.json)
        std::cout << status.dump(2) << "\n";
    else
        print_status(status);
    return status["stripes"].value("lost", uint64_t{0}) > 0 ? kExitFailed : kExitOk;
}

int put_command(CliContext& context, const PoolArgs& args) {
    auto handle = open_pool(context, pool::PoolOpenMode::open);
    if (!handle)
        return context.exit_code;
    int fd = args.file == "-" ? STDIN_FILENO : ::open(args.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return report_error("pool put", Error::from_errno(errno, "cannot open " + args.file));
    struct stat info {};
    uint64_t total = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) ? static_cast<uint64_t>(info.st_size) : 0;
    Progress progress("put " + args.key, total, false);
    auto source = [&](std::span<std::byte> buffer) -> Result<size_t> {
        for (;;) {
            ssize_t n = ::read(fd, buffer.data(), buffer.size());
            if (n >= 0) {
                progress.advance(static_cast<uint64_t>(n));
                return static_cast<size_t>(n);
            }
            if (errno != EINTR)
                return Error::from_errno(errno, "reading " + args.file);
        }
    };
    auto info_result = handle->pool().put(args.key, source);
    if (fd != STDIN_FILENO)
        ::close(fd);
    progress.finish();
    if (!info_result)
        return report_error("pool put", info_result.error());
    if (args.json)
        std::cout << pool::to_json(*info_result).dump() << "\n";
    else
        std::cerr << "stored '" << args.key << "': " << format_size(info_result->size)
                  << (info_result->is_inline ? " (inline)" : ", " + std::to_string(info_result->stripes) + " stripes")
                  << "\n";
    return kExitOk;
}

int get_command(CliContext& context, const PoolArgs& args) {
    auto handle = open_pool(context, pool::PoolOpenMode::open);
    if (!handle)
        return context.exit_code;
    auto info = handle->pool().stat(args.key);
    if (!info)
        return report_error("pool get", info.error());
    bool to_stdout = args.file == "-";
    // A file is written under a temporary name and renamed only when complete: a failed get never leaves a
    // partial file that looks finished.
    std::string temp = args.file + ".tiercel-partial";
    int fd = to_stdout ? STDOUT_FILENO : ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return report_error("pool get", Error::from_errno(errno, "cannot create " + temp));
    uint64_t expected = args.offset < info->size
                            ? std::min(info->size - args.offset, args.length.value_or(info->size))
                            : 0;
    Progress progress("get " + args.key, expected, false);
    auto sink = [&](std::span<const std::byte> bytes) -> Status {
        size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return Error::from_errno(errno, "writing " + (to_stdout ? std::string("stdout") : temp));
            done += static_cast<size_t>(n);
        }
        progress.advance(bytes.size());
        return {};
    };
    Status status = handle->pool().get(args.key, args.offset, args.length, sink);
    progress.finish();
    if (!to_stdout) {
        if (status && ::fsync(fd) != 0)
            status = Error::from_errno(errno, "fsync " + temp);
        ::close(fd);
        if (status && ::rename(temp.c_str(), args.file.c_str()) != 0)
            status = Error::from_errno(errno, "rename to " + args.file);
        if (!status)
            ::unlink(temp.c_str());
    }
    return status ? kExitOk : report_error("pool get", status.error());
}

// Prints fsck findings (pool::to_json(FsckReport) shape) and returns the exit code: offline and daemon runs alike.
int print_fsck(const nlohmann::json& report, const PoolArgs& args) {
    bool clean = report.value("clean", false);
    bool intact = report.value("data_intact", false);
    if (args.json) {
        std::cout << report.dump(2) << "\n";
    } else {
        std::printf("checked %llu objects, %llu stripes, %llu shards\n",
                    static_cast<unsigned long long>(report.value("objects_checked", uint64_t{0})),
                    static_cast<unsigned long long>(report.value("stripes_checked", uint64_t{0})),
                    static_cast<unsigned long long>(report.value("shards_checked", uint64_t{0})));
        for (const char* name : {"missing_shards", "corrupt_shards", "orphan_shards", "temp_files", "bad_records",
                                 "metadata", "repairs"}) {
            auto list = report.value(name, std::vector<std::string>{});
            if (list.empty())
                continue;
            std::printf("%s: %zu\n", name, list.size());
            for (size_t i = 0; i < list.size() && i < 20; ++i)
                std::printf("  %s\n", list[i].c_str());
            if (list.size() > 20)
                std::printf("  ... and %zu more (use --json for all)\n", list.size() - 20);
        }
        std::printf("%s\n", clean ? "clean" : intact ? "data intact" : "DATA NEEDS HEALING");
    }
    return intact && (clean || args.repair) ? kExitOk : kExitFailed;
}

int fsck_command(CliContext& context, const PoolArgs& args) {
    auto config = load_config_or_report(context);
    if (!config)
        return context.exit_code;
    if (daemon_running(*config)) {
        std::atomic<bool> never{false};
        auto job = run_daemon_job(*config, {{"operation", "fsck"}, {"repair", args.repair}}, args.json, never);
        if (!job)
            return report_error("pool fsck", job.error());
        if ((*job)["result"].is_null())
            return report_error("pool fsck", Error(Errc::io_error, job->value("error", "the fsck job failed")));
        return print_fsck((*job)["result"], args);
    }
    auto handle = pool::open_configured_pool(config->pool, pool::PoolOpenMode::open);
    if (!handle)
        return report_error("cannot open the pool", handle.error());
    return print_fsck(pool::to_json(pool::fsck_pool((*handle)->pool(), args.repair)), args);
}

void add_object_commands(CLI::App& pool_app, CliContext& context, std::shared_ptr<PoolArgs> args) {
    auto* put = pool_app.add_subcommand("put", "Store FILE (or - for stdin) as object KEY, replacing any previous one.");
    put->add_option("key", args->key, "Object name")->required();
    put->add_option("file", args->file, "File to read, or - for standard input")->required();
    put->add_flag("--json", args->json, "Print the stored object as JSON");
    put->callback([&context, args] { context.exit_code = put_command(context, *args); });

    auto* get = pool_app.add_subcommand("get", "Write object KEY to FILE (or - for stdout), whole or a range.");
    get->add_option("key", args->key, "Object name")->required();
    get->add_option("file", args->file, "File to write, or - for standard output")->required();
    get->add_option("--offset", args->offset, "First byte to read (default 0)");
    get->add_option("--length", args->length, "Bytes to read (default: to the end)");
    get->callback([&context, args] { context.exit_code = get_command(context, *args); });

    auto* rm = pool_app.add_subcommand("rm", "Remove object KEY and free its stripes.");
    rm->add_option("key", args->key, "Object name")->required();
    rm->callback([&context, args] {
        auto handle = open_pool(context, pool::PoolOpenMode::open);
        if (!handle)
            return;
        if (Status status = handle->pool().remove(args->key); !status)
            context.exit_code = report_error("pool rm", status.error());
    });

    auto* ls = pool_app.add_subcommand("ls", "List objects, optionally only those whose name starts with PREFIX.");
    ls->add_option("prefix", args->prefix, "Name prefix");
    ls->add_flag("--json", args->json, "One JSON array of objects");
    ls->callback([&context, args] {
        auto handle = open_pool(context, pool::PoolOpenMode::open);
        if (!handle)
            return;
        auto objects = handle->pool().list(args->prefix);
        if (args->json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& object : objects)
                out.push_back(pool::to_json(object));
            std::cout << out.dump() << "\n";
            return;
        }
        for (const auto& object : objects)
            std::printf("%12llu  %s\n", static_cast<unsigned long long>(object.size), object.name.c_str());
    });

    auto* stat = pool_app.add_subcommand("stat", "Show object KEY: size, time, inline or striped.");
    stat->add_option("key", args->key, "Object name")->required();
    stat->add_flag("--json", args->json, "Print JSON");
    stat->callback([&context, args] {
        auto handle = open_pool(context, pool::PoolOpenMode::open);
        if (!handle)
            return;
        auto info = handle->pool().stat(args->key);
        if (!info) {
            context.exit_code = report_error("pool stat", info.error());
            return;
        }
        if (args->json)
            std::cout << pool::to_json(*info).dump() << "\n";
        else
            std::printf("%s: %s%s, %zu stripes\n", info->name.c_str(), format_size(info->size).c_str(),
                        info->is_inline ? " (inline in metadata)" : "", info->stripes);
    });
}

}  // namespace

void add_pool_command(CLI::App& app, CliContext& context) {
    auto args = std::make_shared<PoolArgs>();
    CLI::App* pool_app = app.add_subcommand("pool", "The erasure-coded pool: create it, inspect it, store objects.");
    pool_app->require_subcommand(1);

    auto* create = pool_app->add_subcommand("create", "Format the disks listed in [pool] as a new pool.");
    create->add_flag("--force", args->force, "Also take disks that hold other data or another pool's label");
    create->footer("Writes a label on every disk (pool uuid, disk id, format version, key-derivation parameters)\n"
                   "and the first metadata on m+1 of them.");
    create->callback([&context, args] {
        auto handle = open_pool(context, pool::PoolOpenMode::create, pool::CreateOptions{args->force});
        if (handle)
            std::cerr << "created pool '" << handle->pool().status().name << "' ("
                      << pool::uuid_to_string(handle->pool().uuid()) << ")\n";
    });

    auto* status = pool_app->add_subcommand("status", "Disks, stripe health and metadata replicas.");
    status->add_flag("--json", args->json, "Print JSON");
    status->callback([&context, args] { context.exit_code = status_command(context, *args); });

    auto* placement = pool_app->add_subcommand("placement", "Explain where the shards of stripe ID go, and why.");
    placement->add_option("stripe", args->stripe_id, "Stripe id")->required();
    placement->add_flag("--json", args->json, "Print JSON");
    placement->callback([&context, args] {
        auto handle = open_pool(context, pool::PoolOpenMode::open);
        if (!handle)
            return;
        auto explained = handle->pool().explain_placement(args->stripe_id);
        if (!explained) {
            context.exit_code = report_error("pool placement", explained.error());
            return;
        }
        if (args->json) {
            std::cout << pool::to_json(*explained).dump(2) << "\n";
            return;
        }
        for (const auto& decision : explained->decisions)
            std::printf("%-28s weight %8.2f  %s\n", decision.name.c_str(), decision.weight, decision.reason.c_str());
    });
    auto* fsck = pool_app->add_subcommand("fsck", "Check metadata against every shard on every disk.");
    fsck->add_flag("--repair", args->repair, "Delete orphan shards and temp files, repair metadata replicas");
    fsck->add_flag("--json", args->json, "Print JSON");
    fsck->footer("Exits 0 when nothing is wrong (or only what --repair fixed), 1 when data needs healing.");
    fsck->callback([&context, args] { context.exit_code = fsck_command(context, *args); });
    add_object_commands(*pool_app, context, args);
    add_pool_maintenance_commands(*pool_app, context);
}

}  // namespace tiercel::cli
