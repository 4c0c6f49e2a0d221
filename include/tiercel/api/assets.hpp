// Contract: the dashboard's static files, embedded into the binary at build time from web/static
// (cmake/embed_assets_script.cmake). find_asset() looks a file up by its relative path; there is no filesystem
// access at run time, so no request path can escape the asset set.
#pragma once

#include <string_view>
#include <vector>

namespace tiercel::api {

struct EmbeddedAsset {
    std::string_view path;  // relative to web/static, e.g. "index.html", "app.js"
    std::string_view bytes;
};

const std::vector<EmbeddedAsset>& embedded_assets();
const EmbeddedAsset* find_asset(std::string_view path);
std::string_view content_type_for(std::string_view path);

}  // namespace tiercel::api
