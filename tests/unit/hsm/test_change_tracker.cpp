// The change tracker against the real kernel: a FAN_CLASS_NOTIF group with a filesystem mark on the filesystem of a
// temporary directory (needs root, as the daemon does). Creations, writes, renames and deletions below the watched
// directory come back as paths; activity elsewhere on the same filesystem does not. The group is held by the real
// relay process (build/tiercel hsm-relay).
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "tiercel/hsm/change_tracker.hpp"

using namespace tiercel::hsm;
namespace fs = std::filesystem;

namespace {

// Everything take() returns within `timeout`, merged (path -> directory).
std::map<std::string, bool> collect(ChangeTracker& tracker, const std::vector<std::string>& wanted,
                                    std::chrono::seconds timeout = std::chrono::seconds(5)) {
    std::map<std::string, bool> seen;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        bool overflowed = false;
        for (const auto& change : tracker.take(overflowed))
            seen[change.path] = seen[change.path] || change.directory;
        bool all = true;
        for (const auto& path : wanted)
            all = all && seen.count(path);
        if (all)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return seen;
}

}  // namespace

TEST_CASE("the change tracker reports creations, writes, renames and deletions below its roots") {
    char base_template[] = "/tmp/tiercel-tracker-XXXXXX";
    REQUIRE(::mkdtemp(base_template) != nullptr);
    fs::path base = base_template;
    fs::create_directories(base / "watched");
    fs::create_directories(base / "elsewhere");
    std::string root = (base / "watched").string();
    // The relay runs as `tiercel hsm-relay`: the daemon binary next to this test binary's directory (build/tiercel).
    std::string program = (fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "tiercel").string();
    std::string missing = "the tiercel binary is needed for the relay: " + program;
    REQUIRE_MESSAGE(fs::exists(program), missing);
    auto tracker = ChangeTracker::start({root}, nullptr, program);
    REQUIRE_MESSAGE(tracker.ok(), (tracker.ok() ? "" : tracker.error().describe()));

    fs::create_directories(base / "watched" / "sub");
    { std::ofstream(base / "watched" / "sub" / "f") << "hello"; }
    { std::ofstream(base / "elsewhere" / "x") << "not watched"; }
    auto seen = collect(**tracker, {root + "/sub", root + "/sub/f"});
    CHECK(seen.count(root + "/sub"));
    CHECK(seen[root + "/sub"]);  // a directory appeared: its subtree must be walked
    CHECK(seen.count(root + "/sub/f"));
    CHECK(!seen[root + "/sub/f"]);
    for (const auto& [path, directory] : seen)
        CHECK_MESSAGE(path.rfind(root, 0) == 0, path);

    fs::rename(base / "watched" / "sub" / "f", base / "watched" / "g");
    fs::remove(base / "watched" / "g");
    seen = collect(**tracker, {root + "/sub/f", root + "/g"});
    CHECK(seen.count(root + "/sub/f"));  // moved from
    CHECK(seen.count(root + "/g"));      // moved to, then deleted
    CHECK((*tracker)->events() > 0);
    tracker->reset();
    fs::remove_all(base);
}
