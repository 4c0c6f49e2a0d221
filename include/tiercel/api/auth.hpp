// Contract: the API's bearer token. load_or_create_token() reads the token file, or creates it (mode 0600, parent
// directories 0700) with 32 random bytes in hex when it is missing; a token file that is empty, unreadable or
// readable by group/others is an error naming the file. token_matches() compares in constant time.
#pragma once

#include <string>
#include <string_view>

#include "tiercel/api/http.hpp"
#include "tiercel/core/error.hpp"

namespace tiercel::api {

Result<std::string> load_or_create_token(const std::string& path);
bool token_matches(std::string_view expected, std::string_view presented);
// The token from "Authorization: Bearer <token>", or "" when absent or malformed.
std::string bearer_token(const Request& request);

}  // namespace tiercel::api
