#include "tiercel/api/assets.hpp"

#include <cstdint>
#include <cstdio>

namespace tiercel::api {
namespace {

bool safe_name(std::string_view name) {
    if (name.empty() || name.front() == '.')
        return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

constexpr std::string_view kAssetsDir = "assets/";

}  // namespace

const EmbeddedAsset* find_asset(std::string_view path) {
    for (const auto& asset : embedded_assets())
        if (asset.path == path)
            return &asset;
    return nullptr;
}

std::string_view content_type_for(std::string_view path) {
    if (path.ends_with(".html")) return "text/html; charset=utf-8";
    if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
    if (path.ends_with(".css")) return "text/css; charset=utf-8";
    if (path.ends_with(".svg")) return "image/svg+xml";
    if (path.ends_with(".png")) return "image/png";
    if (path.ends_with(".ico")) return "image/x-icon";
    if (path.ends_with(".woff2")) return "font/woff2";
    if (path.ends_with(".json") || path.ends_with(".map")) return "application/json";
    if (path.ends_with(".webmanifest")) return "application/manifest+json";
    if (path.ends_with(".yaml")) return "application/yaml";
    return "application/octet-stream";
}

bool safe_asset_path(std::string_view path) {
    if (path.substr(0, kAssetsDir.size()) == kAssetsDir)
        path.remove_prefix(kAssetsDir.size());
    return safe_name(path);
}

std::string asset_etag(const EmbeddedAsset& asset) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : asset.bytes) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    char text[24];
    std::snprintf(text, sizeof text, "\"%016llx\"", static_cast<unsigned long long>(hash));
    return text;
}

bool is_immutable_asset(std::string_view path) { return path.substr(0, kAssetsDir.size()) == kAssetsDir; }

}  // namespace tiercel::api
