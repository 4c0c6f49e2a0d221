// Contract: the HTTP server, a Service on the core loop (Boost.Beast, one C++20 coroutine per connection).
// It serves one Router on the TCP address from [http] listen and on the Unix socket <state_dir>/api.sock (mode 0600;
// its peers with our uid or root count as authenticated, which is how the CLI talks to the daemon). Hardening:
// request headers ≤ 16 KiB, bodies ≤ [http] body_limit (413 beyond), every read and write bounded by
// [http] request_timeout, malformed requests get 400 and the connection is closed. stop() closes the listeners and
// idle connections at once; a connection in the middle of a request finishes that response, then closes.
// Events: start() opens the event log (<state_dir>/events.db) and publishes "daemon started"; stop() publishes
// "daemon stopping". GET /api/v1/events/stream connections become SSE streams (event_stream.hpp) that stop() ends.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <functional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "tiercel/api/router.hpp"
#include "tiercel/core/daemon.hpp"
#include "tiercel/core/service.hpp"

namespace tiercel::api {

class StreamWaiters;

class HttpService : public Service {
public:
    HttpService(Daemon& daemon, std::shared_ptr<Router> router);
    ~HttpService() override;

    std::string_view name() const override { return "http"; }
    Status start() override;
    void stop() override;

    uint16_t bound_port() const { return bound_port_; }

    struct Connection {
        std::function<void()> close;
        bool busy = false;
    };

private:
    Status listen_tcp();
    Status listen_unix();

    Daemon& daemon_;
    std::shared_ptr<Router> router_;
    boost::asio::ip::tcp::acceptor tcp_acceptor_;
    boost::asio::local::stream_protocol::acceptor unix_acceptor_;
    std::list<Connection> connections_;  // touched on the loop thread only
    std::unique_ptr<StreamWaiters> waiters_;
    int event_subscription_ = 0;
    bool stopping_ = false;
    bool on_loopback_ = true;
    uint16_t bound_port_ = 0;
};

}  // namespace tiercel::api
