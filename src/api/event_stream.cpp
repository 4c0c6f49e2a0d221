#include "event_stream.hpp"

namespace tiercel::api {

std::string format_sse(const events::Event& event) {
    // The kind is one token of [a-z_]; anything else would break the framing, so it is filtered, not trusted.
    std::string kind;
    for (char c : event.kind)
        if (c != '\n' && c != '\r')
            kind += c;
    return "id: " + std::to_string(event.id) + "\nevent: " + kind + "\ndata: " + events::to_json(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n\n";
}

}  // namespace tiercel::api
