#include "tiercel/cli/daemon_client.hpp"

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace tiercel::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using unix_stream = beast::basic_stream<asio::local::stream_protocol>;

struct Exchange {
    http::request<http::string_body> request;
    http::response_parser<http::string_body> response;
    beast::flat_buffer buffer;
    beast::error_code error;
    std::string failed_step;
};

// Connect, write, read — each step with the deadline; the first failure is remembered with its step.
void run_exchange(asio::io_context& io, unix_stream& stream, const std::string& socket_path, Exchange& exchange,
                  std::chrono::milliseconds timeout) {
    stream.expires_after(timeout);
    stream.async_connect(asio::local::stream_protocol::endpoint(socket_path), [&](beast::error_code ec) {
        if (ec) {
            exchange.error = ec;
            exchange.failed_step = "connect";
            return;
        }
        http::async_write(stream, exchange.request, [&](beast::error_code wec, size_t) {
            if (wec) {
                exchange.error = wec;
                exchange.failed_step = "send";
                return;
            }
            http::async_read(stream, exchange.buffer, exchange.response, [&](beast::error_code rec, size_t) {
                if (rec) {
                    exchange.error = rec;
                    exchange.failed_step = "read the reply";
                }
            });
        });
    });
    io.run();
}

Errc errc_from_code(std::string_view code, unsigned status) {
    static const std::pair<std::string_view, Errc> kCodes[] = {
        {"invalid_input", Errc::invalid_input}, {"not_found", Errc::not_found},
        {"already_exists", Errc::already_exists}, {"busy", Errc::busy},
        {"forbidden", Errc::permission},        {"unauthorized", Errc::permission},
        {"no_space", Errc::no_space},           {"unavailable", Errc::unavailable},
        {"corruption", Errc::corruption},       {"io_error", Errc::io_error},
        {"cancelled", Errc::cancelled},
    };
    for (const auto& [name, errc] : kCodes)
        if (name == code)
            return errc;
    if (status == 400)
        return Errc::invalid_input;
    if (status == 404)
        return Errc::not_found;
    if (status == 409)
        return Errc::busy;
    return Errc::internal;
}

}  // namespace

Result<DaemonReply> daemon_request(const Config& config, std::string_view method, std::string_view target,
                                   const nlohmann::json* body, std::chrono::milliseconds timeout) {
    const std::string socket_path = config.socket_path();
    struct stat st {};
    if (::stat(socket_path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
        return Error(Errc::not_found, "no daemon socket at " + socket_path);

    asio::io_context io;
    unix_stream stream(io);
    Exchange exchange;
    exchange.request.method(http::string_to_verb(method));
    exchange.request.target(target);
    exchange.request.version(11);
    exchange.request.set(http::field::host, "localhost");
    exchange.request.set(http::field::user_agent, "tiercel-cli/" TIERCEL_VERSION);
    if (body) {
        exchange.request.set(http::field::content_type, "application/json");
        exchange.request.body() = body->dump();
    }
    exchange.request.prepare_payload();
    exchange.response.body_limit(64u << 20);  // object listings can be large
    run_exchange(io, stream, socket_path, exchange, timeout);

    if (exchange.error) {
        if (exchange.failed_step == "connect" && (exchange.error == asio::error::connection_refused ||
                                                  exchange.error == asio::error::not_found))
            return Error(Errc::not_found, "no daemon listens on " + socket_path + " (stale socket)");
        if (exchange.error == beast::error::timeout)
            return Error(Errc::io_error, "the daemon did not answer " + std::string(method) + " " +
                                             std::string(target) + " within " +
                                             std::to_string(timeout.count() / 1000) + " s");
        return Error(Errc::io_error, "daemon at " + socket_path + ": " + exchange.failed_step + ": " +
                                         exchange.error.message());
    }
    DaemonReply reply;
    reply.status = exchange.response.get().result_int();
    const std::string& text = exchange.response.get().body();
    if (!text.empty()) {
        reply.body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (reply.body.is_discarded())
            return Error(Errc::corruption, "the daemon's reply to " + std::string(target) + " is not JSON");
    }
    return reply;
}

bool daemon_running(const Config& config) {
    auto reply = daemon_request(config, "GET", "/api/v1/health", nullptr, std::chrono::seconds(5));
    return reply.ok() && reply->ok();
}

Error daemon_error(const DaemonReply& reply) {
    std::string code;
    std::string message = "HTTP " + std::to_string(reply.status);
    if (reply.body.is_object() && reply.body.contains("error") && reply.body["error"].is_object()) {
        const auto& error = reply.body["error"];
        code = error.value("code", "");
        message = error.value("message", message);
    }
    return Error(errc_from_code(code, reply.status), "daemon: " + message);
}

}  // namespace tiercel::cli
