#include "tiercel/api/sessions.hpp"

#include <sodium.h>

namespace tiercel::api {

std::string random_hex_256() {
    if (sodium_init() < 0)
        throw std::runtime_error("libsodium failed to initialise");
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    char hex[sizeof raw * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    return hex;
}

std::optional<std::chrono::seconds> SessionStore::login_blocked(const std::string& client, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = failures_.find(client);
    if (it == failures_.end())
        return std::nullopt;
    auto& times = it->second;
    while (!times.empty() && now - times.front() >= kFailureWindow)
        times.pop_front();
    if (times.empty()) {
        failures_.erase(it);
        return std::nullopt;
    }
    if (times.size() < static_cast<size_t>(kMaxFailures))
        return std::nullopt;
    auto wait = std::chrono::ceil<std::chrono::seconds>(kFailureWindow - (now - times.front()));
    return std::max(wait, std::chrono::seconds(1));
}

void SessionStore::record_failure(const std::string& client, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    // Bounded memory under a flood of addresses: forget everyone when too many are tracked.
    if (failures_.size() > 10000)
        failures_.clear();
    failures_[client].push_back(now);
}

SessionStore::Session SessionStore::create(Clock::time_point now) {
    Session session{random_hex_256(), random_hex_256()};
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();)
        it = now - it->second.last_used > kIdleLimit ? sessions_.erase(it) : std::next(it);
    if (sessions_.size() >= kMaxSessions) {
        auto oldest = sessions_.begin();
        for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
            if (it->second.last_used < oldest->second.last_used)
                oldest = it;
        sessions_.erase(oldest);
    }
    sessions_[session.id] = Entry{session.csrf, now};
    return session;
}

std::optional<std::string> SessionStore::csrf_for(std::string_view id, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end())
        return std::nullopt;
    if (now - it->second.last_used > kIdleLimit) {
        sessions_.erase(it);
        return std::nullopt;
    }
    it->second.last_used = now;
    return it->second.csrf;
}

void SessionStore::remove(std::string_view id) {
    std::lock_guard lock(mutex_);
    if (auto it = sessions_.find(id); it != sessions_.end())
        sessions_.erase(it);
}

std::string session_cookie(const Request& request) {
    // Several Cookie headers may arrive; each holds "a=1; b=2".
    auto [first, last] = request.equal_range(http::field::cookie);
    for (auto field = first; field != last; ++field) {
        std::string_view rest = field->value();
        while (!rest.empty()) {
            size_t semicolon = rest.find(';');
            std::string_view pair = rest.substr(0, semicolon);
            while (!pair.empty() && pair.front() == ' ')
                pair.remove_prefix(1);
            size_t equals = pair.find('=');
            if (equals != std::string_view::npos && pair.substr(0, equals) == kSessionCookie)
                return std::string(pair.substr(equals + 1));
            rest = semicolon == std::string_view::npos ? std::string_view() : rest.substr(semicolon + 1);
        }
    }
    return "";
}

}  // namespace tiercel::api
