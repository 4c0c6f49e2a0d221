// Private to the HTTP service: serving GET /api/v1/events/stream (Server-Sent Events) on a connection.
// Each stream is a coroutine on the core loop that sends every event after its starting id, then sleeps on a timer.
// StreamWaiters holds those timers: the event bus's listener posts wake_all() to the loop after each publish, which
// cancels the timers, so a stream wakes at once without polling and never blocks the loop. With nothing to send for
// kKeepalive, a stream sends the comment ": keepalive" (so proxies and clients see a live connection, and a client
// that went away is noticed by the failing write).
#pragma once

#include <chrono>
#include <set>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/this_coro.hpp>

#include "tiercel/core/events.hpp"

namespace tiercel::api {

inline constexpr auto kKeepalive = std::chrono::seconds(15);

class StreamWaiters {  // loop thread only
public:
    void add(boost::asio::steady_timer* timer) { timers_.insert(timer); }
    void remove(boost::asio::steady_timer* timer) { timers_.erase(timer); }
    void wake_all() {
        for (auto* timer : timers_)
            timer->cancel();
    }
    size_t size() const { return timers_.size(); }

private:
    std::set<boost::asio::steady_timer*> timers_;
};

// "id: N\nevent: <kind>\ndata: <event json>\n\n" (the JSON is one line: dump() escapes newlines).
std::string format_sse(const events::Event& event);

template <typename Stream>
boost::asio::awaitable<void> stream_events(Stream& stream, int64_t after, StreamWaiters& waiters, const bool& stopping,
                                           std::chrono::milliseconds write_timeout) {
    namespace asio = boost::asio;
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    waiters.add(&timer);
    struct Leave {
        StreamWaiters& waiters;
        asio::steady_timer* timer;
        ~Leave() { waiters.remove(timer); }
    } leave{waiters, &timer};
    std::string out = "retry: 3000\n\n";  // EventSource reconnects after 3 s
    while (!stopping) {
        for (const events::Event& event : events::bus().since(after, 256)) {
            out += format_sse(event);
            after = event.id;
        }
        if (out.empty()) {
            // since() and this wait run without a suspension in between, and wake_all() is posted to the loop, so
            // an event published meanwhile always cancels this wait.
            timer.expires_after(kKeepalive);
            auto [wait_error] = co_await timer.async_wait(use_tuple);
            if (wait_error)
                continue;  // woken: look for new events (or stop)
            out = ": keepalive\n\n";
        }
        stream.expires_after(write_timeout);
        auto [write_error, written] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
        (void)written;
        if (write_error)
            break;
        out.clear();
    }
}

}  // namespace tiercel::api
