#include "tiercel/api/http_service.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <filesystem>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "event_stream.hpp"
#include "tiercel/core/events.hpp"
#include "tiercel/core/log.hpp"
#include "tiercel/core/net_address.hpp"

namespace tiercel::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::asio::ip::tcp;
using unix_socket = boost::asio::local::stream_protocol;

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

bool peer_is_trusted(int fd) {
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0)
        return false;
    return credentials.uid == 0 || credentials.uid == ::geteuid();
}

// Answers a request the parser rejected, so the client learns why before the connection closes.
Response parse_failure_response(const beast::error_code& ec) {
    if (ec == http::error::body_limit)
        return error_response(http::status::payload_too_large, "body_too_large", "the request body is too large");
    if (ec == http::error::header_limit)
        return error_response(http::status::request_header_fields_too_large, "header_too_large",
                              "the request header is too large");
    return error_response(http::status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
}

struct SessionSettings {
    Router& router;
    CallerInfo caller;
    uint64_t body_limit;
    std::chrono::milliseconds timeout;
    const bool& stopping;
    StreamWaiters& waiters;
};

// The rest of a GET /api/v1/events/stream exchange: the handler's header, then events until either side stops.
template <typename Stream>
asio::awaitable<void> serve_stream(Stream& stream, Response& response, const StreamRequest& request,
                                   const SessionSettings& settings) {
    response.keep_alive(false);
    http::response_serializer<http::string_body> serializer(response);
    stream.expires_after(settings.timeout);
    auto [error, written] = co_await http::async_write_header(stream, serializer, kUseTuple);
    (void)written;
    if (!error)
        co_await stream_events(stream, request.after_event_id, settings.waiters, settings.stopping, settings.timeout);
}

// After answering a request we refused (413, 400, ...), the client may still be sending. Closing with unread data
// makes the kernel send RST, which can destroy our answer before the client reads it; so stop sending, then read
// and discard for a bounded time and amount (at most 4 MiB, at most one request timeout) before closing.
template <typename Stream>
asio::awaitable<void> drain_before_close(Stream& stream, std::chrono::milliseconds timeout) {
    beast::error_code ignored;
    stream.socket().shutdown(asio::socket_base::shutdown_send, ignored);
    stream.expires_after(std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(1)));
    std::array<char, 16384> discard;
    for (int i = 0; i < 256; ++i) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(discard), kUseTuple);
        (void)n;
        if (ec)
            break;
    }
}

template <typename Stream>
asio::awaitable<void> serve_connection(Stream& stream, SessionSettings settings, HttpService::Connection& connection) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(kHeaderLimit);
        parser.body_limit(settings.body_limit);
        stream.expires_after(settings.timeout);
        auto [read_error, read_bytes] = co_await http::async_read(stream, buffer, parser, kUseTuple);
        (void)read_bytes;
        if (read_error == http::error::end_of_stream || read_error == asio::error::operation_aborted ||
            read_error == beast::error::timeout || read_error == asio::error::connection_reset)
            break;
        connection.busy = true;
        Response response;
        bool keep_alive = false;
        if (read_error) {
            response = parse_failure_response(read_error);
            response.keep_alive(false);
        } else {
            StreamRequest stream_request;
            response = settings.router.handle(parser.get(), settings.caller, &stream_request);
            if (stream_request.requested) {
                connection.busy = false;  // a stream is idle between events: stop() may close it at once
                co_await serve_stream(stream, response, stream_request, settings);
                break;
            }
            keep_alive = response.keep_alive() && !settings.stopping;
            response.keep_alive(keep_alive);
        }
        if (parser.is_header_done() && parser.get().method() == http::verb::head)
            response.body().clear();
        stream.expires_after(settings.timeout);
        auto [write_error, written] = co_await http::async_write(stream, response, kUseTuple);
        (void)written;
        connection.busy = false;
        if (read_error && !write_error)
            co_await drain_before_close(stream, settings.timeout);
        if (write_error || !keep_alive)
            break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(asio::socket_base::shutdown_send, ignored);
    stream.socket().close(ignored);
}

template <typename Protocol>
void spawn_connection(asio::io_context& loop, typename Protocol::socket socket, SessionSettings settings,
                      std::list<HttpService::Connection>& connections) {
    using Stream = beast::basic_stream<Protocol>;
    auto stream = std::make_shared<Stream>(std::move(socket));
    auto slot = connections.insert(connections.end(), HttpService::Connection{});
    slot->close = [weak = std::weak_ptr<Stream>(stream)] {
        if (auto alive = weak.lock())
            alive->close();
    };
    asio::co_spawn(
        loop,
        [stream, settings, slot]() -> asio::awaitable<void> {
            co_await serve_connection(*stream, settings, *slot);
        },
        [&connections, slot](std::exception_ptr error) {
            connections.erase(slot);
            if (error) {
                try {
                    std::rethrow_exception(error);
                } catch (const std::exception& e) {
                    log::warning("http", std::string("connection ended with an error: ") + e.what());
                }
            }
        });
}

}  // namespace

HttpService::HttpService(Daemon& daemon, std::shared_ptr<Router> router)
    : daemon_(daemon), router_(std::move(router)), tcp_acceptor_(daemon.loop()), unix_acceptor_(daemon.loop()),
      waiters_(std::make_unique<StreamWaiters>()) {}

HttpService::~HttpService() {
    if (event_subscription_)
        events::bus().unsubscribe(event_subscription_);
    // Every service has stopped by now: what they published on the way out goes to events.db before the process ends.
    events::bus().flush();
}

Status HttpService::start() {
    const std::string events_path = daemon_.config().state_dir + "/events.db";
    std::error_code ignored;
    std::filesystem::create_directories(daemon_.config().state_dir, ignored);
    if (Status opened = events::bus().open(events_path); !opened)
        log::warning("http", "the event log stays in memory only: " + opened.error().message());
    event_subscription_ = events::bus().subscribe([this] {
        asio::post(daemon_.loop(), [this] { waiters_->wake_all(); });
    });
    daemon_.metrics().add_collector([this](std::vector<MetricSample>& out) {
        out.push_back({"tiercel_http_event_streams", "Open GET /api/v1/events/stream connections.", "gauge", {},
                       static_cast<double>(waiters_->size())});
    });
    TIERCEL_TRY(listen_tcp());
    TIERCEL_TRY(listen_unix());
    events::publish(events::Level::info, "daemon", "daemon_started",
                    "tiercel " TIERCEL_VERSION " started, serving " + daemon_.config().http.listen,
                    {{"version", TIERCEL_VERSION}, {"listen", daemon_.config().http.listen}});
    return {};
}

Status HttpService::listen_tcp() {
    TIERCEL_ASSIGN(ListenAddress address, parse_listen_address(daemon_.config().http.listen));
    on_loopback_ = address.is_loopback();
    boost::system::error_code ec;
    tcp::endpoint endpoint(asio::ip::make_address(address.host, ec), address.port);
    if (ec)
        return make_error(Errc::invalid_input, "bad listen address " + daemon_.config().http.listen);
    tcp_acceptor_.open(endpoint.protocol(), ec);
    if (!ec)
        tcp_acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
        tcp_acceptor_.bind(endpoint, ec);
    if (!ec)
        tcp_acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        return make_error(Errc::io_error, "cannot listen on " + daemon_.config().http.listen + ": " + ec.message());
    bound_port_ = tcp_acceptor_.local_endpoint().port();
    log::notice("http", "listening on http://" + (endpoint.address().is_v6() ? "[" + address.host + "]" : address.host) +
                            ":" + std::to_string(bound_port_) +
                            (on_loopback_ ? " (loopback: reads open, mutations need the token)"
                                          : " (not loopback: every request needs the token)"));
    asio::co_spawn(
        daemon_.loop(),
        [this]() -> asio::awaitable<void> {
            for (;;) {
                auto [accept_error, socket] = co_await tcp_acceptor_.async_accept(kUseTuple);
                if (accept_error == asio::error::operation_aborted || stopping_)
                    co_return;
                if (accept_error)
                    continue;
                boost::system::error_code peer_error;
                auto peer = socket.remote_endpoint(peer_error);
                std::string client = peer_error ? "unknown" : peer.address().to_string();
                SessionSettings settings{*router_, CallerInfo{false, on_loopback_, client},
                                         daemon_.config().http.body_limit, daemon_.config().http.request_timeout,
                                         stopping_, *waiters_};
                spawn_connection<tcp>(daemon_.loop(), std::move(socket), settings, connections_);
            }
        },
        asio::detached);
    return {};
}

Status HttpService::listen_unix() {
    const std::string path = daemon_.config().socket_path();
    std::error_code fs_error;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), fs_error);
    // A socket file left by a daemon that died is stale; a live daemon would still answer on it.
    {
        unix_socket::socket probe(daemon_.loop());
        boost::system::error_code ec;
        probe.connect(unix_socket::endpoint(path), ec);
        if (!ec)
            return make_error(Errc::busy, "another tiercel daemon is already serving " + path);
    }
    ::unlink(path.c_str());
    boost::system::error_code ec;
    unix_acceptor_.open(unix_socket(), ec);
    if (!ec)
        unix_acceptor_.bind(unix_socket::endpoint(path), ec);
    if (!ec)
        unix_acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        return make_error(Errc::io_error, "cannot listen on Unix socket " + path + ": " + ec.message());
    ::chmod(path.c_str(), 0600);
    asio::co_spawn(
        daemon_.loop(),
        [this]() -> asio::awaitable<void> {
            for (;;) {
                auto [accept_error, socket] = co_await unix_acceptor_.async_accept(kUseTuple);
                if (accept_error == asio::error::operation_aborted || stopping_)
                    co_return;
                if (accept_error)
                    continue;
                bool trusted = peer_is_trusted(socket.native_handle());
                SessionSettings settings{*router_, CallerInfo{trusted, true, "unix"}, daemon_.config().http.body_limit,
                                         daemon_.config().http.request_timeout, stopping_, *waiters_};
                spawn_connection<unix_socket>(daemon_.loop(), std::move(socket), settings, connections_);
            }
        },
        asio::detached);
    return {};
}

void HttpService::stop() {
    events::publish(events::Level::info, "daemon", "daemon_stopping", "tiercel is stopping");
    stopping_ = true;
    waiters_->wake_all();
    boost::system::error_code ignored;
    tcp_acceptor_.close(ignored);
    if (unix_acceptor_.is_open()) {
        unix_acceptor_.close(ignored);
        ::unlink(daemon_.config().socket_path().c_str());
    }
    for (auto& connection : connections_)
        if (!connection.busy)
            connection.close();
}

}  // namespace tiercel::api
