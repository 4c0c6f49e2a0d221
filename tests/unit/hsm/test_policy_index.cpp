// The daemon's policy without a daemon: the index evaluated against rules and water marks, and retention selection
// (pure), then retention on a real SQLite catalog with a real dir target.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tiercel/hsm/candidate_index.hpp"
#include "tiercel/hsm/retention.hpp"

using namespace tiercel;
using namespace tiercel::hsm;

namespace {

constexpr int64_t now = 1'000'000'000;
constexpr int64_t day = 86'400;

HsmConfig policy_config() {
    HsmConfig config;
    config.watch = {"/srv/hot"};
    HsmRuleConfig rule;
    rule.name = "media";
    rule.include = {"/srv/hot/media/**"};
    rule.exclude = {"**/*.part"};
    rule.min_size = 1 << 20;
    rule.idle = std::chrono::hours(24);
    rule.copies = {"shelf"};
    config.rules.push_back(rule);
    return config;
}

IndexEntry entry(uint64_t size, int64_t idle_days, std::string state = "resident") {
    IndexEntry e;
    e.facts = {size, now - idle_days * day, now - idle_days * day};
    e.state = std::move(state);
    return e;
}

WatchUsage usage(uint64_t total, uint64_t used, double high, double low) {
    WatchUsage u;
    u.path = "/srv/hot";
    u.total_bytes = total;
    u.used_bytes = used;
    u.used_fraction = double(used) / double(total);
    u.above_high_water = u.used_fraction > high;
    auto low_bytes = static_cast<uint64_t>(low * double(total));
    u.bytes_to_free = u.above_high_water && used > low_bytes ? used - low_bytes : 0;
    return u;
}

std::map<std::string, Decision> by_path(const std::vector<Decision>& decisions) {
    std::map<std::string, Decision> out;
    for (const auto& d : decisions)
        out[d.path] = d;
    return out;
}

VersionRow version_row(int64_t version, int64_t archived_days_ago) {
    VersionRow v;
    v.version = version;
    v.archived_ns = (now - archived_days_ago * day) * 1'000'000'000LL;
    return v;
}

}  // namespace

TEST_CASE("the index is evaluated like a scan: rules, size, idle time, pins, states") {
    CandidateIndex index;
    index.put("/srv/hot/media/old.mkv", entry(5 << 20, 3));
    index.put("/srv/hot/media/new.mkv", entry(5 << 20, 0));
    index.put("/srv/hot/media/tiny.mkv", entry(100, 3));
    index.put("/srv/hot/media/film.part", entry(5 << 20, 3));
    index.put("/srv/hot/media/pinned.mkv", entry(5 << 20, 3));
    index.put("/srv/hot/media/dirty.mkv", entry(5 << 20, 3, "dirty"));
    index.put("/srv/hot/media/done.mkv", entry(5 << 20, 3, "premigrated"));
    index.put("/srv/other/x.mkv", entry(5 << 20, 3));  // not below the watched path: not evaluated
    auto d = by_path(index.evaluate(policy_config(), {{"/srv/hot/media/pinned.mkv", true}}, now,
                                    usage(100 << 20, 10 << 20, 0.85, 0.75)));
    CHECK(d.size() == 7);
    CHECK(d["/srv/hot/media/old.mkv"].action == "premigrate");
    CHECK(d["/srv/hot/media/old.mkv"].copies == std::vector<std::string>{"shelf"});
    CHECK(d["/srv/hot/media/new.mkv"].action == "keep");
    CHECK(d["/srv/hot/media/new.mkv"].reason.find("rule wants idle") != std::string::npos);
    CHECK(d["/srv/hot/media/tiny.mkv"].reason.find("min_size") != std::string::npos);
    CHECK(d["/srv/hot/media/film.part"].reason == "no rule includes it");
    CHECK(d["/srv/hot/media/pinned.mkv"].reason == "pinned");
    CHECK(d["/srv/hot/media/dirty.mkv"].action == "premigrate");  // a new version
    CHECK(d["/srv/hot/media/done.mkv"].action == "keep");
    CHECK(d["/srv/hot/media/done.mkv"].reason.find("below high_water") != std::string::npos);
}

TEST_CASE("above high_water, premigrated files are stubbed coldest first until below low_water") {
    CandidateIndex index;
    index.put("/srv/hot/a", entry(30 << 20, 10, "premigrated"));
    index.put("/srv/hot/b", entry(30 << 20, 20, "premigrated"));  // coldest
    index.put("/srv/hot/c", entry(30 << 20, 5, "premigrated"));
    index.put("/srv/hot/d", entry(30 << 20, 30, "premigrated"));  // colder still, but pinned
    index.put("/srv/hot/e", entry(30 << 20, 40, "resident"));     // not premigrated: cannot be stubbed
    // 90 of 100 MiB used, low_water 40%: 50 MiB must go, so the two coldest unpinned premigrated files (60 MiB).
    auto d = by_path(index.evaluate(HsmConfig{}, {{"/srv/hot/d", true}}, now, usage(100 << 20, 90 << 20, 0.85, 0.4)));
    CHECK(d["/srv/hot/b"].action == "stub");
    CHECK(d["/srv/hot/a"].action == "stub");
    CHECK(d["/srv/hot/c"].action == "keep");
    CHECK(d["/srv/hot/c"].reason.find("below low_water without stubbing it") != std::string::npos);
    CHECK(d["/srv/hot/d"].action == "keep");
    CHECK(d["/srv/hot/e"].action == "keep");
    auto calm = by_path(index.evaluate(HsmConfig{}, {}, now, usage(100 << 20, 50 << 20, 0.85, 0.4)));
    for (const auto& [path, decision] : calm)
        CHECK(decision.action == "keep");
}

TEST_CASE("index entries go with their directory; below() respects path segments") {
    CandidateIndex index;
    index.put("/srv/hot/a/x", entry(1, 1));
    index.put("/srv/hot/a/y/z", entry(1, 1));
    index.put("/srv/hot/ab", entry(1, 1));
    index.erase("/srv/hot/a");
    CHECK(index.size() == 1);
    CHECK(index.find("/srv/hot/ab") != nullptr);
    CHECK(below("/srv/hot/a", "/srv/hot"));
    CHECK(below("/srv/hot", "/srv/hot"));
    CHECK(!below("/srv/hotter/a", "/srv/hot"));
    CHECK(below("/x", "/"));
}

TEST_CASE("retention keeps the newest keep_versions, the young ones, and protected versions") {
    std::vector<VersionRow> versions = {version_row(1, 50), version_row(2, 40), version_row(3, 30),
                                        version_row(4, 2), version_row(5, 1)};
    CHECK(select_prunable(versions, {5}, 3, 0, now * 1'000'000'000LL) == std::vector<int64_t>{1, 2});
    CHECK(select_prunable(versions, {5, 1}, 3, 0, now * 1'000'000'000LL) == std::vector<int64_t>{2});
    // keep_days alone: everything older than 10 days goes, except the protected current version.
    CHECK(select_prunable(versions, {3}, 0, 10, now * 1'000'000'000LL) == std::vector<int64_t>{1, 2});
    // both: kept when newest-2 OR younger than 35 days.
    CHECK(select_prunable(versions, {5}, 2, 35, now * 1'000'000'000LL) == std::vector<int64_t>{1, 2});
    CHECK(select_prunable(versions, {5}, 0, 0, now * 1'000'000'000LL).empty());  // retention off
    CHECK(select_prunable(versions, {5}, 1, 0, now * 1'000'000'000LL) == std::vector<int64_t>{1, 2, 3, 4});
}

TEST_CASE("apply_retention removes old versions from the catalog and their payloads from the target") {
    char dir_template[] = "/tmp/tiercel-retention-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    std::filesystem::path dir = dir_template;
    std::filesystem::create_directories(dir / "archive");
    auto catalog = Catalog::open((dir / "catalog.db").string());
    REQUIRE(catalog.ok());
    HsmConfig config;
    config.keep_versions = 2;
    config.targets.push_back({"shelf", "dir", (dir / "archive").string()});
    auto targets = make_targets(config);
    REQUIRE(targets.ok());
    std::string file = (dir / "data.bin").string();
    PremigrateResult last;
    for (int round = 0; round < 4; ++round) {
        {
            std::ofstream out(file, std::ios::trunc);
            out << std::string(10000 + round, char('a' + round));
        }
        auto done = premigrate(*catalog, {targets->find("shelf")}, file, 3);
        REQUIRE_MESSAGE(done.ok(), (done.ok() ? "" : done.error().describe()));
        last = *done;
    }
    CHECK(last.version == 4);
    auto pruned = apply_retention(*catalog, *targets, config, last.file_id);
    REQUIRE(pruned.ok());
    CHECK(pruned->versions_pruned == 2);
    CHECK(pruned->payloads_removed == 2);
    auto versions = catalog->versions(last.file_id);
    REQUIRE(versions.ok());
    REQUIRE(versions->size() == 2);
    CHECK(versions->at(0).version == 3);
    CHECK(versions->at(1).version == 4);
    auto listed = targets->find("shelf")->list();
    REQUIRE(listed.ok());
    CHECK(listed->size() == 2);
    for (const auto& key : *listed)
        CHECK(key.find("-v1.") == std::string::npos);
    CHECK(catalog->copies(last.file_id, 1)->empty());
    CHECK(!catalog->remove_version(last.file_id, 4).ok());  // never the current version
    std::filesystem::remove_all(dir);
}
