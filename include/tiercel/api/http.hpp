// Contract: the HTTP message types of the API layer and helpers that build Tiercel's responses.
// Every error body is JSON: {"error":{"code":"not_found","message":"no route for GET /api/v1/nope"}} where `code`
// is stable (scripts may match on it) and `message` is for people.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include "tiercel/core/error.hpp"

namespace tiercel::api {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

Response json_response(http::status status, const nlohmann::json& body, unsigned version = 11);
Response text_response(http::status status, std::string body, std::string_view content_type, unsigned version = 11);
Response error_response(http::status status, std::string_view code, std::string_view message, unsigned version = 11);
// Maps a core Error to an HTTP status and stable code (invalid_input -> 400 "invalid_input", not_found -> 404, ...).
Response error_response(const Error& error, unsigned version = 11);

}  // namespace tiercel::api
