// Contract: the process-wide event log that the dashboard, the REST API and Home Assistant read ("what happened").
// Any module publishes with events::publish(level, source, kind, message, data) from any thread; it never blocks on
// disk: the event gets the next id, goes into an in-memory ring of the newest kRingCapacity events, and is queued
// for a dedicated writer thread that appends it to SQLite (<state_dir>/events.db, schema in docs/formats.md) once
// open() has been called (until then at most kRingCapacity events wait for it). Ids increase strictly and continue
// across restarts (open() numbers events published before it after the newest stored id). page() and since() read
// the ring and, for older events, the database.
// Listeners registered with subscribe() are called on the publishing thread after each event and must only post
// work elsewhere (the HTTP service wakes its SSE clients this way).
// It is a process-wide object like logging, so services publish without any plumbing; see docs/design.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tiercel/core/error.hpp"

namespace tiercel::events {

enum class Level { info, warning, error };
std::string_view level_name(Level level);

struct Event {
    int64_t id = 0;
    std::string time;  // RFC 3339, UTC, milliseconds: 2026-12-04T14:30:00.123Z
    Level level = Level::info;
    std::string source;  // pool, hsm, health, planner, daemon, http
    std::string kind;    // stable, snake_case: job_started, plan_approved, disk_risk_changed, ...
    std::string message;
    nlohmann::json data = nlohmann::json::object();
};
nlohmann::json to_json(const Event& event);

struct Page {
    std::vector<Event> events;   // newest first
    std::optional<int64_t> next;  // pass as `before` for the next page; empty when there is none
};

class EventBus {
public:
    static constexpr size_t kRingCapacity = 1024;
    static constexpr int64_t kKeptRows = 100000;  // events.db keeps the newest this many events

    EventBus();
    ~EventBus();  // flushes queued events to the database
    EventBus(const EventBus&) = delete;
    EventBus& operator=(const EventBus&) = delete;

    // Opens (or creates) the database and starts the writer. Opening the path already open is a no-op.
    Status open(const std::string& path);
    // Waits until every event published so far is in the database (tests, shutdown).
    void flush();
    void close();

    int64_t publish(Level level, std::string source, std::string kind, std::string message,
                    nlohmann::json data = nlohmann::json::object());

    Page page(std::optional<int64_t> before, size_t limit) const;
    // Events with id > after_id, oldest first, at most `limit`.
    std::vector<Event> since(int64_t after_id, size_t limit) const;
    int64_t last_id() const;
    // The newest event in the ring that `match` accepts (last scrub, ...).
    std::optional<Event> latest(const std::function<bool(const Event&)>& match) const;

    using Listener = std::function<void()>;
    int subscribe(Listener listener);
    void unsubscribe(int handle);

private:
    struct Store;
    std::vector<Event> stored_after(int64_t after, int64_t below, size_t limit) const;  // oldest first
    void writer_loop();

    mutable std::mutex mutex_;  // ring_, queue_, next_id_, store_ pointer
    std::deque<Event> ring_;
    std::deque<Event> queue_;    // published, not yet written
    int64_t next_id_ = 1;
    std::unique_ptr<Store> store_;
    std::mutex listeners_mutex_;
    std::map<int, Listener> listeners_;
    int next_listener_ = 1;
};

// The process's bus.
EventBus& bus();

inline int64_t publish(Level level, std::string source, std::string kind, std::string message,
                       nlohmann::json data = nlohmann::json::object()) {
    return bus().publish(level, std::move(source), std::move(kind), std::move(message), std::move(data));
}

// RFC 3339 UTC with milliseconds for a system_clock time.
std::string rfc3339(std::chrono::system_clock::time_point time);

}  // namespace tiercel::events
