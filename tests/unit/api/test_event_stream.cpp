// SSE framing of one event (the HTTP service's private event_stream.hpp): what EventSource parses.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "../../../src/api/event_stream.hpp"

using namespace tiercel;

TEST_CASE("an event becomes id, event and one data line, then a blank line") {
    events::Event event{42, "2026-12-04T14:30:00.123Z", events::Level::warning, "health", "disk_risk_changed",
                        "disk3 is at_risk:\nline two", {{"disk", "disk3"}}};
    std::string text = api::format_sse(event);
    CHECK(text.starts_with("id: 42\nevent: disk_risk_changed\ndata: {"));
    CHECK(text.ends_with("}\n\n"));
    // The message's newline is escaped inside the JSON, so the data field stays one line.
    CHECK(std::count(text.begin(), text.end(), '\n') == 4);
    auto data = nlohmann::json::parse(text.substr(text.find("data: ") + 6));
    CHECK(data["id"] == 42);
    CHECK(data["level"] == "warning");
    CHECK(data["message"] == "disk3 is at_risk:\nline two");
    CHECK(data["data"]["disk"] == "disk3");
}

TEST_CASE("a kind with a newline cannot break the framing") {
    events::Event event{1, "t", events::Level::info, "http", "evil\nevent: other", "m", nlohmann::json::object()};
    std::string text = api::format_sse(event);
    CHECK(text.find("\nevent: evilevent: other\n") != std::string::npos);
}

TEST_CASE("invalid UTF-8 in a message does not throw") {
    events::Event event{1, "t", events::Level::info, "hsm", "archive_failed", std::string("bad \xff byte"),
                        nlohmann::json::object()};
    CHECK_NOTHROW(api::format_sse(event));
}
