// Contract: dashboard logins. A browser trades the API token for a session (POST /api/v1/login): a random 256-bit
// session id sent back as an HttpOnly, SameSite=Strict cookie, plus a random CSRF token the page keeps in memory and
// sends as X-CSRF-Token on mutations (docs/design.md, "Dashboard sessions"). Sessions live in memory only (a daemon
// restart logs everyone out), expire after kIdleLimit without use, and at most kMaxSessions exist (the least
// recently used goes first). Failed logins are limited per client address: after kMaxFailures failures within
// kFailureWindow every further attempt from that address is refused until the oldest failure ages out.
// Thread-safe; the clock is a parameter so tests can move time.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tiercel/api/http.hpp"

namespace tiercel::api {

class SessionStore {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto kIdleLimit = std::chrono::hours(12);
    static constexpr size_t kMaxSessions = 64;
    static constexpr int kMaxFailures = 5;
    static constexpr auto kFailureWindow = std::chrono::seconds(60);

    struct Session {
        std::string id;    // the cookie value, 64 hex digits
        std::string csrf;  // 64 hex digits
    };

    // How long `client` must wait before trying again; nullopt when it may try now.
    std::optional<std::chrono::seconds> login_blocked(const std::string& client, Clock::time_point now = Clock::now());
    void record_failure(const std::string& client, Clock::time_point now = Clock::now());

    Session create(Clock::time_point now = Clock::now());
    // The CSRF token of a live session (and marks it used), or nullopt.
    std::optional<std::string> csrf_for(std::string_view id, Clock::time_point now = Clock::now());
    void remove(std::string_view id);

private:
    struct Entry {
        std::string csrf;
        Clock::time_point last_used;
    };
    std::mutex mutex_;
    std::map<std::string, Entry, std::less<>> sessions_;
    std::map<std::string, std::deque<Clock::time_point>> failures_;
};

constexpr std::string_view kSessionCookie = "tiercel_session";

// The value of the tiercel_session cookie, or "" when the request carries none.
std::string session_cookie(const Request& request);
// 32 random bytes as 64 hex digits (libsodium).
std::string random_hex_256();

}  // namespace tiercel::api
