// Contract: docs/openapi.yaml, embedded into the binary at build time (cmake/EmbedText.cmake), served at
// GET /api/v1/openapi.yaml so the API describes itself without any file on the NAS.
#pragma once

#include <string_view>

namespace tiercel::api {

std::string_view openapi_yaml();

}  // namespace tiercel::api
