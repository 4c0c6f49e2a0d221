// Event routes: the paged log (GET /api/v1/events) and the live stream (GET /api/v1/events/stream, SSE; the HTTP
// service does the streaming, see event_stream.hpp).
#include "tiercel/api/api.hpp"
#include "tiercel/core/events.hpp"

namespace tiercel::api {
namespace {

using nlohmann::json;

// A positive integer query or header value; nullopt when absent; an Error when not a positive integer.
Result<std::optional<int64_t>> positive_number(std::optional<std::string_view> text, std::string_view what) {
    if (!text)
        return std::optional<int64_t>();
    try {
        size_t used = 0;
        std::string value(*text);
        long long number = std::stoll(value, &used);
        if (used == value.size() && number >= 0)
            return std::optional<int64_t>(number);
    } catch (const std::exception&) {
    }
    return make_error(Errc::invalid_input, std::string(what) + " must be a non-negative integer");
}

std::optional<std::string_view> query_value(const RequestContext& request, const std::string& key) {
    auto it = request.query.find(key);
    return it == request.query.end() ? std::nullopt : std::optional<std::string_view>(it->second);
}

Response list_events(RequestContext& request) {
    const unsigned version = request.request.version();
    auto before = positive_number(query_value(request, "before"), "before");
    if (!before)
        return error_response(before.error(), version);
    auto limit = positive_number(query_value(request, "limit"), "limit");
    if (!limit)
        return error_response(limit.error(), version);
    int64_t count = limit->value_or(50);
    if (count < 1 || count > 500)
        return error_response(http::status::bad_request, "invalid_input", "limit must be between 1 and 500", version);
    events::Page page = events::bus().page(*before, static_cast<size_t>(count));
    json list = json::array();
    for (const auto& event : page.events)
        list.push_back(events::to_json(event));
    return json_response(http::status::ok, {{"events", list}, {"next", page.next ? json(*page.next) : json(nullptr)}},
                         version);
}

Response open_stream(RequestContext& request) {
    const unsigned version = request.request.version();
    if (!request.stream)
        return error_response(http::status::not_implemented, "no_stream", "this connection cannot stream", version);
    // EventSource sends Last-Event-ID when it reconnects; ?last_event_id= serves clients that cannot set headers.
    std::optional<std::string_view> resume = query_value(request, "last_event_id");
    if (auto header = request.request.find("Last-Event-ID"); header != request.request.end())
        resume = header->value();
    auto after = positive_number(resume, "Last-Event-ID");
    if (!after)
        return error_response(after.error(), version);
    Response response = text_response(http::status::ok, "", "text/event-stream", version);
    if (request.request.method() == http::verb::head)
        return response;  // the headers only: nothing to stream
    request.stream->requested = true;
    request.stream->after_event_id = after->value_or(events::bus().last_id());
    response.erase(http::field::content_length);
    response.set("X-Accel-Buffering", "no");  // a reverse proxy must not buffer the stream
    response.keep_alive(false);               // the stream ends when the connection closes
    return response;
}

}  // namespace

void register_event_routes(Router& router) {
    router.add(http::verb::get, "/api/v1/events", Access::read, [](RequestContext& request) {
        return list_events(request);
    });
    router.add(http::verb::get, "/api/v1/events/stream", Access::read, [](RequestContext& request) {
        return open_stream(request);
    });
}

}  // namespace tiercel::api
