// The event bus: ids, paging, replay for SSE, persistence in a real SQLite events.db across reopen.
#include <doctest/doctest.h>

#include "../support/temp_dir.hpp"
#include "tiercel/core/events.hpp"

using namespace tiercel;
using namespace tiercel::events;

TEST_CASE("events get increasing ids and page newest first") {
    EventBus bus;
    for (int i = 1; i <= 7; ++i)
        CHECK(bus.publish(Level::info, "pool", "job_started", "job " + std::to_string(i), {{"n", i}}) == i);
    Page first = bus.page(std::nullopt, 3);
    REQUIRE(first.events.size() == 3);
    CHECK(first.events[0].id == 7);
    CHECK(first.events[2].id == 5);
    REQUIRE(first.next);
    Page second = bus.page(first.next, 3);
    CHECK(second.events.front().id == 4);
    Page last = bus.page(2, 10);
    REQUIRE(last.events.size() == 1);
    CHECK(last.events[0].id == 1);
    CHECK_FALSE(last.next);
    auto json = to_json(first.events[0]);
    CHECK(json["level"] == "info");
    CHECK(json["source"] == "pool");
    CHECK(json["data"]["n"] == 7);
    CHECK(json["time"].get<std::string>().size() == 24);  // 2026-12-04T14:30:00.123Z
    CHECK(json["time"].get<std::string>().back() == 'Z');
}

TEST_CASE("since() replays what a stream missed, oldest first") {
    EventBus bus;
    for (int i = 0; i < 5; ++i)
        bus.publish(Level::warning, "health", "disk_risk_changed", "x");
    auto missed = bus.since(2, 100);
    REQUIRE(missed.size() == 3);
    CHECK(missed[0].id == 3);
    CHECK(missed[2].id == 5);
    CHECK(bus.since(5, 100).empty());
    CHECK(bus.since(0, 2).size() == 2);
}

TEST_CASE("listeners are told about every event") {
    EventBus bus;
    int calls = 0;
    int handle = bus.subscribe([&] { ++calls; });
    bus.publish(Level::info, "daemon", "daemon_started", "up");
    bus.publish(Level::info, "daemon", "daemon_stopping", "down");
    bus.unsubscribe(handle);
    bus.publish(Level::info, "daemon", "daemon_started", "up again");
    CHECK(calls == 2);
}

TEST_CASE("events.db keeps events and ids across a reopen; events published before open are renumbered") {
    testing::TempDir dir("tiercel-events");
    std::string path = dir.path() + "/events.db";
    {
        EventBus bus;
        REQUIRE(bus.open(path));
        bus.publish(Level::info, "planner", "plan_proposed", "plan 1", {{"plan_id", 1}});
        bus.publish(Level::error, "hsm", "archive_failed", "archive /x: io", {{"path", "/x"}});
        bus.flush();
    }
    EventBus bus;
    bus.publish(Level::info, "daemon", "daemon_started", "before open");  // gets id 1 in memory...
    REQUIRE(bus.open(path));
    CHECK(bus.last_id() == 3);  // ...and 3 once the stored events are known
    Page page = bus.page(std::nullopt, 10);
    REQUIRE(page.events.size() == 3);
    CHECK(page.events[0].kind == "daemon_started");
    CHECK(page.events[1].level == Level::error);
    CHECK(page.events[1].data["path"] == "/x");
    CHECK(page.events[2].data["plan_id"] == 1);
    CHECK(bus.publish(Level::info, "pool", "job_started", "next") == 4);
}

TEST_CASE("paging past the in-memory ring reads the database") {
    testing::TempDir dir("tiercel-events");
    std::string path = dir.path() + "/events.db";
    EventBus bus;
    REQUIRE(bus.open(path));
    const int total = static_cast<int>(EventBus::kRingCapacity) + 100;
    for (int i = 1; i <= total; ++i)
        bus.publish(Level::info, "pool", "job_finished", "job", {{"n", i}});
    bus.flush();
    Page old = bus.page(60, 500);
    REQUIRE(old.events.size() == 59);
    CHECK(old.events.front().id == 59);
    CHECK(old.events.front().data["n"] == 59);
    CHECK(old.events.back().id == 1);
    auto replay = bus.since(10, 5);
    REQUIRE(replay.size() == 5);
    CHECK(replay[0].id == 11);
    auto newest = bus.latest([](const Event& e) { return e.data.value("n", 0) % 100 == 0; });
    REQUIRE(newest);
    CHECK(newest->data["n"] == 1100);
}
