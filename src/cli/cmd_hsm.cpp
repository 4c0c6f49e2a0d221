// `tiercel hsm ...`: archive, stub and recall files of a native filesystem; look at their states and versions.
// Premigrating (writing and verifying payloads) runs in this process. Stubbing and recalling need the interceptor,
// so they are requests to the running daemon over its Unix socket; without a daemon `archive` premigrates only.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "tiercel/cli/common.hpp"
#include "tiercel/cli/daemon_client.hpp"
#include "tiercel/core/units.hpp"
#include "tiercel/hsm/archiver.hpp"
#include "tiercel/hsm/change_tracker.hpp"
#include "tiercel/hsm/file_state.hpp"
#include "tiercel/hsm/guardian.hpp"
#include "tiercel/hsm/policy.hpp"
#include "tiercel/hsm/report.hpp"
#include "tiercel/hsm/retention.hpp"
#include "tiercel/pool/pool_from_config.hpp"

namespace tiercel::cli {
namespace {

struct HsmArgs {
    std::vector<std::string> paths;
    std::string state;
    std::string destination;
    int64_t version = 0;
    bool json = false;
};

struct HsmSetup {
    Config config;
    hsm::Catalog catalog;
    hsm::Targets targets;
    std::unique_ptr<pool::PoolHandle> pool;  // held while a `pool` target is used offline
    bool daemon_premigrates = false;          // a `pool` target while the daemon holds the pool
};

std::optional<HsmSetup> setup(CliContext& context) {
    auto config = load_config_or_report(context);
    if (!config)
        return std::nullopt;
    if (!config->hsm.configured) {
        context.exit_code = report_error("hsm", make_error(Errc::invalid_input, "the config has no [hsm] section"));
        return std::nullopt;
    }
    auto catalog = hsm::Catalog::open(config->hsm.catalog_path(config->state_dir));
    if (!catalog) {
        context.exit_code = report_error("hsm catalog", catalog.error());
        return std::nullopt;
    }
    HsmSetup result{std::move(*config), std::move(*catalog), {}, nullptr, false};
    if (hsm::has_pool_target(result.config.hsm)) {
        if (daemon_running(result.config)) {
            result.daemon_premigrates = true;  // only the daemon may open its pool now
            return result;
        }
        auto handle = pool::open_configured_pool(result.config.pool, pool::PoolOpenMode::open);
        if (!handle) {
            context.exit_code = report_error("hsm: the pool target needs the pool", handle.error());
            return std::nullopt;
        }
        result.pool = std::move(*handle);
    }
    auto targets = hsm::make_targets(result.config.hsm, result.pool ? &result.pool->pool() : nullptr,
                                     result.config.state_dir + "/hsm");
    if (!targets) {
        context.exit_code = report_error("hsm targets", targets.error());
        return std::nullopt;
    }
    result.targets = std::move(*targets);
    return result;
}

std::string absolute(const std::string& path) {
    std::error_code ec;
    auto result = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
    return ec ? path : result.string();
}

// The targets a file's copies go to: the first rule whose include matches names them; else every target.
std::vector<hsm::Target*> copy_targets(const HsmSetup& setup) {
    std::vector<hsm::Target*> targets;
    for (const auto& target : setup.targets.all)
        targets.push_back(target.get());
    return targets;
}

std::optional<hsm::EventRow> finished_event(hsm::Catalog& catalog, const std::string& path, int64_t since,
                                            const std::vector<std::string>& kinds);

// Premigration by the daemon (a `pool` target while it holds the pool): queue, then wait for each outcome event.
int premigrate_in_daemon(HsmSetup& setup, const std::vector<std::string>& paths, bool json, nlohmann::json& report) {
    std::vector<std::string> absolute_paths;
    for (const auto& path : paths)
        absolute_paths.push_back(absolute(path));
    nlohmann::json body = {{"paths", absolute_paths}};
    int64_t requested_at = hsm::now_ns();
    auto reply = daemon_request(setup.config, "POST", "/api/v1/hsm/premigrate", &body);
    if (!reply || !reply->ok()) {
        report_error("hsm premigrate (in the daemon)", reply ? daemon_error(*reply) : reply.error());
        return static_cast<int>(paths.size());
    }
    int failures = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(30);
    for (const auto& path : absolute_paths) {
        std::optional<hsm::EventRow> outcome;
        while (!outcome && std::chrono::steady_clock::now() < deadline) {
            outcome = finished_event(setup.catalog, path, requested_at,
                                     {"premigrate", "premigrate-failed", "archive-skipped"});
            if (!outcome)
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        bool ok = outcome && outcome->kind == "premigrate";
        failures += ok ? 0 : 1;
        std::string detail = outcome ? outcome->detail : "no answer from the daemon";
        report.push_back({{"path", path}, {"state", ok ? "premigrated" : "unchanged"}, {"detail", detail}});
        if (!ok)
            report.back()["error"] = detail;
        if (!json)
            std::printf("%s %s (by the daemon): %s\n", ok ? "premigrated" : "NOT premigrated", path.c_str(),
                        detail.c_str());
    }
    return failures;
}

int premigrate_all(HsmSetup& setup, const std::vector<std::string>& paths, bool json, nlohmann::json& report) {
    if (setup.daemon_premigrates)
        return premigrate_in_daemon(setup, paths, json, report);
    int failures = 0;
    for (const auto& path : paths) {
        auto done = hsm::premigrate(setup.catalog, copy_targets(setup), path, setup.config.hsm.compression_level);
        if (!done) {
            ++failures;
            report_error("premigrate " + path, done.error());
            report.push_back({{"path", absolute(path)}, {"error", done.error().describe()}});
            continue;
        }
        if (!done->already)
            if (auto pruned = hsm::apply_retention(setup.catalog, setup.targets, setup.config.hsm, done->file_id);
                !pruned)
                report_error("retention for " + path, pruned.error());
        report.push_back({{"path", absolute(path)}, {"state", "premigrated"}, {"version", done->version},
                          {"size", done->size}, {"payload_bytes", done->payload_bytes}, {"already", done->already}});
        if (!json)
            std::printf("premigrated %s: version %lld, %s -> %s in %zu target(s)%s\n", absolute(path).c_str(),
                        static_cast<long long>(done->version), format_size(done->size).c_str(),
                        format_size(done->payload_bytes).c_str(), setup.targets.all.size(),
                        done->already ? " (already current)" : "");
    }
    return failures;
}

// The newest event for `path` of one of `kinds`, recorded after `since`: how a queued daemon job ends.
std::optional<hsm::EventRow> finished_event(hsm::Catalog& catalog, const std::string& path, int64_t since,
                                            const std::vector<std::string>& kinds) {
    auto events = catalog.recent_events(200);
    if (!events)
        return std::nullopt;
    for (const auto& event : *events)
        if (event.at_ns >= since && event.path == path &&
            std::find(kinds.begin(), kinds.end(), event.kind) != kinds.end())
            return event;
    return std::nullopt;
}

// Asks the daemon to act on `paths`, then waits until each reaches `want` (or fails, or 60 s pass).
int ask_daemon(HsmSetup& setup, const std::string& action, const std::vector<std::string>& paths,
               const std::string& want, bool json, nlohmann::json& report) {
    nlohmann::json body = {{"paths", paths}};
    int64_t requested_at = hsm::now_ns();
    auto reply = daemon_request(setup.config, "POST", "/api/v1/hsm/" + action, &body);
    if (!reply)
        return report_error("hsm " + action, reply.error());
    if (!reply->ok())
        return report_error("hsm " + action, daemon_error(*reply));
    int failures = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (const auto& path : paths) {
        std::string state, why;
        while (std::chrono::steady_clock::now() < deadline && why.empty()) {
            auto now = hsm::effective_state(setup.catalog, path);
            state = now ? *now : "unknown";
            if (action == "recall" && (state == "premigrated" || state == "dirty"))
                break;
            // The stub job ends with a "stub" or "stub-failed" event for the path, newer than our request.
            auto outcome = finished_event(setup.catalog, path, requested_at, {"stub", "stub-failed"});
            if (outcome && outcome->kind == "stub")
                break;
            if (outcome)
                why = outcome->detail;
            else
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        bool ok = why.empty() && (state == want || (want == "premigrated" && state == "dirty"));
        if (!ok && why.empty())
            why = "still " + state + " after 60 s (see the daemon log)";
        failures += ok ? 0 : 1;
        report.push_back({{"path", path}, {"state", state}, {"ok", ok}, {"error", why}});
        if (!json)
            std::printf("%s %s: %s\n", ok ? (action == "stub" ? "stubbed" : "recalled") : "NOT done", path.c_str(),
                        ok ? state.c_str() : why.c_str());
    }
    return failures ? kExitFailed : kExitOk;
}

void print_json(const nlohmann::json& value) { std::cout << value.dump(2) << "\n"; }

int archive_command(CliContext& context, const HsmArgs& args, bool stub_too) {
    auto s = setup(context);
    if (!s)
        return context.exit_code;
    nlohmann::json report = nlohmann::json::array();
    int failures = premigrate_all(*s, args.paths, args.json, report);
    int code = failures ? kExitFailed : kExitOk;
    if (stub_too) {
        std::vector<std::string> ready;
        for (const auto& entry : report)
            if (!entry.contains("error"))
                ready.push_back(entry["path"]);
        if (!daemon_running(s->config)) {
            if (!args.json)
                std::printf("premigrated only: no daemon is running, and a file becomes a stub only while the "
                            "interceptor runs and has marked it.\nStart `tiercel serve`, then run `tiercel hsm stub "
                            "PATH...`.\n");
            report = {{"premigrated", report}, {"stubbed", false}, {"reason", "no daemon is running"}};
        } else if (!ready.empty()) {
            nlohmann::json stubbed = nlohmann::json::array();
            code = std::max(code, ask_daemon(*s, "stub", ready, "stub", args.json, stubbed));
            report = {{"premigrated", report}, {"stubbed", stubbed}};
        }
    }
    if (args.json)
        print_json(report);
    return code;
}

int daemon_action(CliContext& context, const HsmArgs& args, const std::string& action, const std::string& want) {
    auto s = setup(context);
    if (!s)
        return context.exit_code;
    if (!daemon_running(s->config))
        return report_error("hsm " + action, make_error(Errc::unavailable,
                                                        "needs the running daemon (its interceptor marks stubs and "
                                                        "recalls them): start `tiercel serve`"));
    std::vector<std::string> paths;
    for (const auto& path : args.paths)
        paths.push_back(absolute(path));
    nlohmann::json report = nlohmann::json::array();
    int code = ask_daemon(*s, action, paths, want, args.json, report);
    if (args.json)
        print_json(report);
    return code;
}

int pin_command(CliContext& context, const HsmArgs& args, bool pinned) {
    auto s = setup(context);
    if (!s)
        return context.exit_code;
    for (const auto& raw : args.paths) {
        auto path = absolute(raw);
        auto id = s->catalog.ensure_file(path);
        if (!id)
            return report_error("hsm pin", id.error());
        if (auto done = s->catalog.set_pinned(*id, pinned); !done)
            return report_error("hsm pin", done.error());
        if (!args.json)
            std::printf("%s %s\n", pinned ? "pinned" : "unpinned", path.c_str());
    }
    return kExitOk;
}

int status_command(CliContext& context, const HsmArgs& args) {
    auto s = setup(context);
    if (!s)
        return context.exit_code;
    nlohmann::json all = nlohmann::json::array();
    for (const auto& raw : args.paths) {
        auto described = hsm::describe_file(s->catalog, absolute(raw), true);
        if (!described)
            return report_error("hsm status", described.error());
        all.push_back(*described);
    }
    if (args.json) {
        print_json(args.paths.size() == 1 ? all[0] : all);
        return kExitOk;
    }
    for (const auto& f : all) {
        std::printf("%s\n  state %s%s, size %s, %lld blocks allocated\n", f["path"].get<std::string>().c_str(),
                    f["state"].get<std::string>().c_str(), f["pinned"].get<bool>() ? " (pinned)" : "",
                    format_size(f["size"].get<uint64_t>()).c_str(), static_cast<long long>(f["blocks"].get<int64_t>()));
        for (const auto& v : f["versions"]) {
            std::printf("  version %lld: %s, blake2b-256 %s\n", static_cast<long long>(v["version"].get<int64_t>()),
                        format_size(v["size"].get<uint64_t>()).c_str(), v["blake2b_256"].get<std::string>().c_str());
            for (const auto& c : v["copies"])
                std::printf("    copy on %s: %s (%s)\n", c["target"].get<std::string>().c_str(),
                            c["key"].get<std::string>().c_str(), format_size(c["payload_size"].get<uint64_t>()).c_str());
        }
        std::printf("  resident ranges:");
        for (const auto& r : f["resident_ranges"])
            std::printf(" [%lld, +%lld)", static_cast<long long>(r["offset"].get<int64_t>()),
                        static_cast<long long>(r["length"].get<int64_t>()));
        std::printf("%s\n", f["resident_ranges"].empty() ? " none" : "");
    }
    return kExitOk;
}

int ls_command(CliContext& context, const HsmArgs& args) {
    auto s = setup(context);
    if (!s)
        return context.exit_code;
    auto prefix = args.paths.empty() ? std::string() : absolute(args.paths[0]);
    auto files = s->catalog.files("", prefix);
    if (!files)
        return report_error("hsm ls", files.error());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& file : *files) {
        auto state = hsm::effective_state(s->catalog, file.path);
        std::string shown = state ? *state : "missing";
        if (!args.state.empty() && shown != args.state)
            continue;
        out.push_back({{"path", file.path}, {"state", shown}, {"pinned", file.pinned},
                       {"version", file.current_version}});
        if (!args.json)
            std::printf("%-12s %s%s\n", shown.c_str(), file.path.c_str(), file.pinned ? "  (pinned)" : "");
    }
    if (args.json)
        print_json(out);
    return kExitOk;
}

// Why a version cannot be restored: never archived, or pruned by retention (version numbers only grow, and the
// current version is never pruned, so a missing number below the current one was pruned).
Error missing_version(hsm::Catalog& catalog, const HsmConfig& config, const hsm::FileRow& file, int64_t wanted) {
    std::string kept;
    if (auto versions = catalog.versions(file.id))
        for (const auto& v : *versions)
            kept += (kept.empty() ? "" : ", ") + std::to_string(v.version);
    if (wanted >= 1 && wanted < file.current_version)
        return make_error(Errc::not_found, file.path + ": version " + std::to_string(wanted) +
                                               " was pruned by retention (keep_versions = " +
                                               std::to_string(config.keep_versions) + ", keep_days = " +
                                               std::to_string(config.keep_days) + "); kept versions: " + kept);
    return make_error(Errc::not_found, file.path + " has no version " + std::to_string(wanted) +
                                           (kept.empty() ? "" : " (versions: " + kept + ")"));
}

int restore_command(CliContext& context, const HsmArgs& args) {
    auto s = setup(context);
    if (!s)
        return context.exit_code;
    if (s->daemon_premigrates)
        return report_error("hsm restore", make_error(Errc::busy, "a pool target is configured and the daemon holds "
                                                                  "the pool: stop `tiercel serve` first"));
    auto path = absolute(args.paths.at(0));
    auto file = s->catalog.file_by_path(path);
    if (!file || !*file)
        return report_error("hsm restore", make_error(Errc::not_found, path + " is not in the catalog"));
    int64_t wanted = args.version ? args.version : (*file)->current_version;
    auto version = s->catalog.version((*file)->id, wanted);
    auto copies = s->catalog.copies((*file)->id, wanted);
    if (!version || !*version || !copies || copies->empty())
        return report_error("hsm restore", missing_version(s->catalog, s->config.hsm, **file, wanted));
    Error last(Errc::unavailable, "no copy could be read");
    for (const auto& copy : *copies) {
        hsm::Target* target = s->targets.find(copy.target);
        if (!target)
            continue;
        auto source = target->open(copy.key);
        if (!source) {
            last = source.error();
            continue;
        }
        auto table = hsm::read_seek_table(**source);
        if (!table) {
            last = table.error();
            continue;
        }
        int out = ::open(args.destination.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out < 0)
            return report_error("hsm restore", Error::from_errno(errno, args.destination));
        hsm::Blake2b256 hash;
        Status written;
        for (const auto& frame : table->frames) {
            auto raw = hsm::read_frame(**source, frame);
            if (!raw) {
                written = raw.error();
                break;
            }
            hash.update(*raw);
            if (::pwrite(out, raw->data(), raw->size(), static_cast<off_t>(frame.raw_offset)) !=
                static_cast<ssize_t>(raw->size())) {
                written = Error::from_errno(errno, args.destination);
                break;
            }
        }
        ::fchmod(out, (*version)->mode & 07777);
        ::close(out);
        if (written && hash.hex_digest() != (*version)->blake2b)
            written = make_error(Errc::corruption, "restored bytes do not match the version's BLAKE2b-256");
        if (!written) {
            last = written.error();
            continue;
        }
        std::printf("restored %s version %lld to %s from %s (BLAKE2b-256 verified)\n", path.c_str(),
                    static_cast<long long>(wanted), args.destination.c_str(), copy.target.c_str());
        return kExitOk;
    }
    return report_error("hsm restore", last);
}

int scan_command(CliContext& context, const HsmArgs& args) {
    auto s = setup(context);
    if (!s)
        return context.exit_code;
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    auto report = hsm::scan(s->config.hsm, s->catalog, now);
    if (!report)
        return report_error("hsm scan", report.error());
    if (args.json) {
        nlohmann::json out = {{"watched", nlohmann::json::array()}, {"files", nlohmann::json::array()}};
        for (const auto& w : report->watched)
            out["watched"].push_back({{"path", w.path}, {"used_fraction", w.used_fraction},
                                      {"above_high_water", w.above_high_water}, {"bytes_to_free", w.bytes_to_free}});
        for (const auto& d : report->files)
            out["files"].push_back({{"path", d.path}, {"action", d.action}, {"rule", d.rule}, {"reason", d.reason},
                                    {"state", d.state}, {"size", d.size}, {"idle_seconds", d.idle_seconds}});
        print_json(out);
        return kExitOk;
    }
    for (const auto& w : report->watched)
        std::printf("%s: %.1f%% used (high water %.0f%%, low water %.0f%%)%s\n", w.path.c_str(),
                    w.used_fraction * 100, s->config.hsm.high_water * 100, s->config.hsm.low_water * 100,
                    w.above_high_water ? ("; " + format_size(w.bytes_to_free) + " to free").c_str() : "");
    for (const auto& d : report->files)
        std::printf("%-10s %s  (%s)\n", d.action.c_str(), d.path.c_str(), d.reason.c_str());
    return kExitOk;
}

CLI::App* with_paths(CLI::App* command, HsmArgs& args, bool json = true) {
    command->add_option("paths", args.paths, "Files (absolute or relative paths)")->required();
    if (json)
        command->add_flag("--json", args.json, "Print the result as JSON");
    return command;
}

}  // namespace

void add_hsm_command(CLI::App& app, CliContext& context) {
    auto args = std::make_shared<HsmArgs>();
    // Started by the daemon (fork + exec) with the fanotify group on fd 3 and its socket on fd 4; hidden from --help.
    app.add_subcommand("hsm-guardian", "")->group("")->callback([] { hsm::run_guardian(3, 4); });
    // Started by the daemon's change tracker (fork + exec) with its notification group on fd 3 and a socket on fd 4.
    app.add_subcommand("hsm-relay", "")->group("")->callback([] { hsm::run_change_relay(3, 4); });
    CLI::App* hsm = app.add_subcommand("hsm", "Archive cold files of a native filesystem and recall them on access.");
    hsm->require_subcommand(1);
    auto run = [&context](auto f) { return [&context, f] { context.exit_code = f(); }; };
    with_paths(hsm->add_subcommand("archive", "Premigrate, then stub (stubbing needs the running daemon)."), *args)
        ->callback(run([&context, args] { return archive_command(context, *args, true); }));
    with_paths(hsm->add_subcommand("premigrate", "Write and verify payloads and catalog them; data stays local."),
               *args)
        ->callback(run([&context, args] { return archive_command(context, *args, false); }));
    with_paths(hsm->add_subcommand("stub", "Punch out premigrated files (asks the daemon, whose interceptor marks "
                                           "them first)."),
               *args)
        ->callback(run([&context, args] { return daemon_action(context, *args, "stub", "stub"); }));
    with_paths(hsm->add_subcommand("recall", "Bring stubs back (asks the daemon) and wait until they are resident."),
               *args)
        ->callback(run([&context, args] { return daemon_action(context, *args, "recall", "premigrated"); }));
    with_paths(hsm->add_subcommand("pin", "Keep files resident: never stubbed by policy or `hsm stub`."), *args)
        ->callback(run([&context, args] { return pin_command(context, *args, true); }));
    with_paths(hsm->add_subcommand("unpin", "Allow pinned files to be stubbed again."), *args)
        ->callback(run([&context, args] { return pin_command(context, *args, false); }));
    with_paths(hsm->add_subcommand("status", "State, versions, copies and resident ranges of files."), *args)
        ->callback(run([&context, args] { return status_command(context, *args); }));
    CLI::App* ls = hsm->add_subcommand("ls", "Archived files below a directory, with their states.");
    ls->add_option("dir", args->paths, "Directory (default: everything in the catalog)");
    ls->add_option("--state", args->state, "Only this state")
        ->check(CLI::IsMember({"resident", "premigrated", "stub", "partial", "dirty"}));
    ls->add_flag("--json", args->json, "Print JSON");
    ls->callback(run([&context, args] { return ls_command(context, *args); }));
    CLI::App* scan = hsm->add_subcommand("scan", "Dry run of the policy: for each file, what would happen and why.");
    scan->add_flag("--json", args->json, "Print JSON");
    scan->callback(run([&context, args] { return scan_command(context, *args); }));
    CLI::App* restore = hsm->add_subcommand("restore", "Write one archived version of a file to another place.");
    restore->add_option("path", args->paths, "The archived file")->required();
    restore->add_option("--version", args->version, "Version number (default: the current one)");
    restore->add_option("--to", args->destination, "Destination file")->required();
    restore->callback(run([&context, args] { return restore_command(context, *args); }));
}

}  // namespace tiercel::cli
