#include "tiercel/api/assets.hpp"

namespace tiercel::api {

const EmbeddedAsset* find_asset(std::string_view path) {
    for (const auto& asset : embedded_assets())
        if (asset.path == path)
            return &asset;
    return nullptr;
}

std::string_view content_type_for(std::string_view path) {
    auto ends_with = [&](std::string_view suffix) {
        return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
    };
    if (ends_with(".html")) return "text/html; charset=utf-8";
    if (ends_with(".js")) return "text/javascript; charset=utf-8";
    if (ends_with(".css")) return "text/css; charset=utf-8";
    if (ends_with(".svg")) return "image/svg+xml";
    if (ends_with(".png")) return "image/png";
    if (ends_with(".json")) return "application/json";
    if (ends_with(".yaml")) return "application/yaml";
    return "application/octet-stream";
}

}  // namespace tiercel::api
