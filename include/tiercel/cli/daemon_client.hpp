// Contract: how a CLI command talks to a running daemon. While `tiercel serve` runs it holds the pool's exclusive
// lock, so commands that would open the pool themselves ask the daemon instead, over its Unix socket
// <state_dir>/api.sock (trusted by SO_PEERCRED: no token needed). One blocking HTTP/1.1 request per call.
//  - daemon_request() returns the reply whatever its HTTP status (the caller decides what a 409 means); it fails with
//    Errc::not_found when no daemon listens on the socket (no file, or connection refused: a stale socket), and with
//    Errc::io_error / Errc::corruption when the daemon breaks the connection or answers something that is not JSON.
//  - daemon_error() turns an error reply ({"error":{"code","message"}}) into a tiercel::Error.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tiercel/core/config.hpp"
#include "tiercel/core/error.hpp"

namespace tiercel::cli {

struct DaemonReply {
    unsigned status = 0;
    nlohmann::json body;  // null when the reply had no body
    bool ok() const { return status >= 200 && status < 300; }
};

Result<DaemonReply> daemon_request(const Config& config, std::string_view method, std::string_view target,
                                   const nlohmann::json* body = nullptr,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

// True when a daemon answers on the config's socket.
bool daemon_running(const Config& config);

// The Error an error reply describes ("daemon: <code>: <message>"), with an Errc that matches the HTTP status.
Error daemon_error(const DaemonReply& reply);

}  // namespace tiercel::cli
