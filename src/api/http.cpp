#include "tiercel/api/http.hpp"

#include <boost/beast/version.hpp>

namespace tiercel::api {

Response text_response(http::status status, std::string body, std::string_view content_type, unsigned version) {
    Response response{status, version};
    response.set(http::field::server, "tiercel/" TIERCEL_VERSION);
    response.set(http::field::content_type, content_type);
    response.set(http::field::cache_control, "no-store");
    response.set("X-Content-Type-Options", "nosniff");
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

Response json_response(http::status status, const nlohmann::json& body, unsigned version) {
    // Bytes that are not UTF-8 (a raw path echoed in an error, a file name) become U+FFFD instead of throwing: found by
    // fuzz/fuzz_request.cpp, a request for "/\x94" used to get its connection dropped instead of a 404.
    return text_response(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                         "application/json", version);
}

Response error_response(http::status status, std::string_view code, std::string_view message, unsigned version) {
    nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
    return json_response(status, body, version);
}

Response error_response(const Error& error, unsigned version) {
    http::status status = http::status::internal_server_error;
    std::string code = "internal";
    switch (error.code()) {
    case Errc::invalid_input: status = http::status::bad_request; code = "invalid_input"; break;
    case Errc::not_found: status = http::status::not_found; code = "not_found"; break;
    case Errc::already_exists: status = http::status::conflict; code = "already_exists"; break;
    case Errc::busy: status = http::status::conflict; code = "busy"; break;
    case Errc::permission: status = http::status::forbidden; code = "forbidden"; break;
    case Errc::no_space: status = http::status::insufficient_storage; code = "no_space"; break;
    case Errc::unavailable: status = http::status::service_unavailable; code = "unavailable"; break;
    case Errc::corruption: code = "corruption"; break;
    case Errc::io_error: code = "io_error"; break;
    case Errc::cancelled: status = http::status::service_unavailable; code = "cancelled"; break;
    default: break;
    }
    return error_response(status, code, error.message(), version);
}

}  // namespace tiercel::api
