// Contract: a subsystem hosted by the Daemon on the core loop (HTTP server, FUSE mount, fanotify interceptor, SMART
// poller, ...). The Daemon calls start() on the loop thread before it tells systemd it is ready, stop() once when
// shutting down (it must not block: it cancels its Asio objects so their handlers finish, and the loop ends when no
// work is left), and reload() after SIGHUP with a config that has already been validated.
#pragma once

#include <string_view>

#include "tiercel/core/config.hpp"
#include "tiercel/core/error.hpp"

namespace tiercel {

class Service {
public:
    virtual ~Service() = default;
    virtual std::string_view name() const = 0;
    virtual Status start() = 0;
    virtual void stop() = 0;
    virtual Status reload(const Config& /*config*/) { return {}; }
};

}  // namespace tiercel
