#include "tiercel/core/events.hpp"

#include <condition_variable>
#include <ctime>
#include <limits>
#include <thread>

#include "tiercel/core/log.hpp"
#include "tiercel/core/sqlite.hpp"

namespace tiercel::events {
namespace {

constexpr std::string_view kSchema = R"(
CREATE TABLE IF NOT EXISTS events (
    id      INTEGER PRIMARY KEY,
    time    TEXT NOT NULL,
    level   TEXT NOT NULL,
    source  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    message TEXT NOT NULL,
    data    TEXT NOT NULL DEFAULT '{}'
);
)";
constexpr const char* kColumns = "SELECT id, time, level, source, kind, message, data FROM events ";

Level parse_level(const std::string& name) {
    if (name == "error")
        return Level::error;
    return name == "warning" ? Level::warning : Level::info;
}

Event read_row(const sqlite::Statement& row) {
    Event event;
    event.id = row.column_int64(0);
    event.time = row.column_text(1);
    event.level = parse_level(row.column_text(2));
    event.source = row.column_text(3);
    event.kind = row.column_text(4);
    event.message = row.column_text(5);
    event.data = nlohmann::json::parse(row.column_text(6), nullptr, false);
    if (event.data.is_discarded())
        event.data = nlohmann::json::object();
    return event;
}

}  // namespace

struct EventBus::Store {
    std::string path;
    mutable std::mutex db_mutex;  // one connection, shared by the writer and readers, one at a time
    sqlite::Database db;
    std::thread writer;
    std::condition_variable wake;     // waits on EventBus::mutex_
    std::condition_variable written;  // waits on EventBus::mutex_
    int64_t written_up_to = 0;
    bool stopping = false;

    Status insert(const std::vector<Event>& batch) {
        std::lock_guard lock(db_mutex);
        TIERCEL_ASSIGN(auto transaction, sqlite::Transaction::begin(db));
        TIERCEL_ASSIGN(auto statement, db.prepare("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)"));
        for (const Event& event : batch) {
            statement.reset();
            statement.bind(1, event.id).bind(2, event.time).bind(3, level_name(event.level)).bind(4, event.source);
            statement.bind(5, event.kind).bind(6, event.message);
            statement.bind(7, event.data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
            TIERCEL_TRY(statement.run());
        }
        // Retention: drop what falls out of the newest kKeptRows (cheap: a range delete on the primary key).
        TIERCEL_ASSIGN(auto prune, db.prepare("DELETE FROM events WHERE id <= ?"));
        TIERCEL_TRY(prune.bind(1, batch.back().id - kKeptRows).run());
        return transaction.commit();
    }

    std::vector<Event> query(const std::string& where, int64_t a, int64_t b, size_t limit) const {
        std::vector<Event> out;
        std::lock_guard lock(db_mutex);
        auto statement = const_cast<sqlite::Database&>(db).prepare(std::string(kColumns) + where);
        if (!statement)
            return out;
        statement->bind(1, a).bind(2, b).bind(3, static_cast<int64_t>(limit));
        while (true) {
            auto row = statement->step();
            if (!row || !*row)
                break;
            out.push_back(read_row(*statement));
        }
        return out;
    }
};

std::string_view level_name(Level level) {
    switch (level) {
    case Level::warning: return "warning";
    case Level::error: return "error";
    default: return "info";
    }
}

nlohmann::json to_json(const Event& event) {
    return {{"id", event.id},         {"time", event.time}, {"level", level_name(event.level)},
            {"source", event.source}, {"kind", event.kind}, {"message", event.message},
            {"data", event.data}};
}

std::string rfc3339(std::chrono::system_clock::time_point time) {
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(millis / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buffer[40];
    size_t used = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buffer + used, sizeof buffer - used, ".%03dZ", static_cast<int>(millis % 1000));
    return buffer;
}

EventBus::EventBus() = default;

EventBus::~EventBus() { close(); }

Status EventBus::open(const std::string& path) {
    {
        std::lock_guard lock(mutex_);
        if (store_ && store_->path == path)
            return {};
    }
    close();
    auto store = std::make_unique<Store>();
    store->path = path;
    TIERCEL_ASSIGN(store->db, sqlite::Database::open(path));
    TIERCEL_TRY(store->db.exec(kSchema));
    TIERCEL_TRY(store->db.set_user_version(1));
    // Events are a record for people, not data: losing the last second of them on power loss is acceptable, so
    // commits need not wait for fsync.
    TIERCEL_TRY(store->db.exec("PRAGMA synchronous=NORMAL"));
    int64_t stored_max = 0;
    {
        TIERCEL_ASSIGN(auto statement, store->db.prepare("SELECT COALESCE(MAX(id), 0) FROM events"));
        TIERCEL_ASSIGN(bool has_row, statement.step());
        if (has_row)
            stored_max = statement.column_int64(0);
    }
    auto newest = store->query("WHERE id > ? AND id < ? ORDER BY id DESC LIMIT ?", 0,
                               std::numeric_limits<int64_t>::max(), kRingCapacity);
    std::lock_guard lock(mutex_);
    // Events published before open() are renumbered after the stored ones; no client has seen their ids yet
    // because the HTTP service opens the bus before it serves.
    std::deque<Event> ring(newest.rbegin(), newest.rend());
    int64_t id = stored_max;
    for (Event& event : queue_) {
        event.id = ++id;
        ring.push_back(event);
    }
    while (ring.size() > kRingCapacity)
        ring.pop_front();
    ring_ = std::move(ring);
    next_id_ = id + 1;
    store->written_up_to = stored_max;
    store_ = std::move(store);
    store_->writer = std::thread([this] { writer_loop(); });
    store_->wake.notify_one();
    return {};
}

void EventBus::writer_loop() {
    std::unique_lock lock(mutex_);
    Store& store = *store_;
    while (true) {
        store.wake.wait(lock, [&] { return store.stopping || !queue_.empty(); });
        if (queue_.empty())
            break;  // stopping, and everything is written
        std::vector<Event> batch(queue_.begin(), queue_.end());
        queue_.clear();
        lock.unlock();
        if (Status status = store.insert(batch); !status)
            log::warning("events", "cannot write to " + store.path + ": " + status.error().message());
        lock.lock();
        store.written_up_to = batch.back().id;
        store.written.notify_all();
    }
}

void EventBus::flush() {
    std::unique_lock lock(mutex_);
    if (!store_)
        return;
    int64_t target = next_id_ - 1;
    store_->written.wait(lock, [&] { return store_->written_up_to >= target; });
}

void EventBus::close() {
    std::unique_ptr<Store> store;
    {
        std::lock_guard lock(mutex_);
        if (!store_)
            return;
        store_->stopping = true;
        store_->wake.notify_one();
    }
    store_->writer.join();
    std::lock_guard lock(mutex_);
    store = std::move(store_);
}

int64_t EventBus::publish(Level level, std::string source, std::string kind, std::string message,
                          nlohmann::json data) {
    int64_t id = 0;
    Event event{0, rfc3339(std::chrono::system_clock::now()), level, std::move(source), std::move(kind),
                std::move(message), data.is_object() ? std::move(data) : nlohmann::json::object()};
    {
        std::lock_guard lock(mutex_);
        event.id = id = next_id_++;
        ring_.push_back(event);
        if (ring_.size() > kRingCapacity)
            ring_.pop_front();
        queue_.push_back(std::move(event));
        if (store_)
            store_->wake.notify_one();
        else if (queue_.size() > kRingCapacity)
            queue_.pop_front();  // no database (yet): keep what open() could still store, not more
    }
    std::lock_guard lock(listeners_mutex_);
    for (auto& [handle, listener] : listeners_)
        listener();
    return id;
}

std::vector<Event> EventBus::stored_after(int64_t after, int64_t below, size_t limit) const {
    return store_->query("WHERE id > ? AND id < ? ORDER BY id ASC LIMIT ?", after, below, limit);
}

Page EventBus::page(std::optional<int64_t> before, size_t limit) const {
    const int64_t bound = before.value_or(std::numeric_limits<int64_t>::max());
    Page page;
    std::lock_guard lock(mutex_);
    for (auto it = ring_.rbegin(); it != ring_.rend() && page.events.size() < limit; ++it)
        if (it->id < bound)
            page.events.push_back(*it);
    if (page.events.size() < limit && store_) {
        int64_t below = ring_.empty() ? bound : std::min(bound, ring_.front().id);
        for (Event& event : store_->query("WHERE id < ? AND id < ? ORDER BY id DESC LIMIT ?", below, below,
                                          limit - page.events.size()))
            page.events.push_back(std::move(event));
    }
    if (page.events.size() == limit && page.events.back().id > 1)
        page.next = page.events.back().id;
    return page;
}

std::vector<Event> EventBus::since(int64_t after_id, size_t limit) const {
    std::vector<Event> out;
    std::lock_guard lock(mutex_);
    if (store_ && !ring_.empty() && after_id + 1 < ring_.front().id)
        out = stored_after(after_id, ring_.front().id, limit);
    for (const Event& event : ring_)
        if (event.id > after_id && out.size() < limit)
            out.push_back(event);
    return out;
}

int64_t EventBus::last_id() const {
    std::lock_guard lock(mutex_);
    return next_id_ - 1;
}

std::optional<Event> EventBus::latest(const std::function<bool(const Event&)>& match) const {
    std::lock_guard lock(mutex_);
    for (auto it = ring_.rbegin(); it != ring_.rend(); ++it)
        if (match(*it))
            return *it;
    return std::nullopt;
}

int EventBus::subscribe(Listener listener) {
    std::lock_guard lock(listeners_mutex_);
    listeners_[next_listener_] = std::move(listener);
    return next_listener_++;
}

void EventBus::unsubscribe(int handle) {
    std::lock_guard lock(listeners_mutex_);
    listeners_.erase(handle);
}

EventBus& bus() {
    static EventBus instance;
    return instance;
}

}  // namespace tiercel::events
