// Contract: reading a JSON request body the same way in every route. json_object_body() answers the parsed object,
// or an invalid_input Error (400 "invalid_input") saying the body is not a JSON object; an empty body is {} when
// `empty_is_object`, else an error too.
#pragma once

#include <nlohmann/json.hpp>

#include "tiercel/api/router.hpp"
#include "tiercel/core/error.hpp"

namespace tiercel::api {

Result<nlohmann::json> json_object_body(const RequestContext& request, bool empty_is_object);

}  // namespace tiercel::api
