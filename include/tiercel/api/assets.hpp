// Contract: the dashboard's static files, built by Vite from web/ and embedded into the binary at build time
// (cmake/EmbedAssets.cmake). find_asset() looks a file up by its path relative to the build's root
// ("index.html", "assets/index-<hash>.js"); there is no filesystem access at run time, so no request path can
// escape the asset set, and safe_asset_path() additionally refuses anything but plain names before the lookup.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tiercel::api {

struct EmbeddedAsset {
    std::string_view path;  // relative to the dashboard build's root, e.g. "index.html", "assets/index-Ab12.js"
    std::string_view bytes;
};

const std::vector<EmbeddedAsset>& embedded_assets();
const EmbeddedAsset* find_asset(std::string_view path);
std::string_view content_type_for(std::string_view path);

// True for "name" or "assets/name" where name is [A-Za-z0-9._-]+ and does not start with a dot.
bool safe_asset_path(std::string_view path);
// A strong validator for the asset's bytes (quoted FNV-1a 64 in hex), for ETag / If-None-Match.
std::string asset_etag(const EmbeddedAsset& asset);
// Vite's content-hashed files under assets/ never change under the same name: cache them for a year. index.html
// names the current hashes, so it must be revalidated on every load.
bool is_immutable_asset(std::string_view path);

}  // namespace tiercel::api
