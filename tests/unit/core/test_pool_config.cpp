// The [pool] section: values, defaults and errors.
#include <doctest/doctest.h>

#include "tiercel/core/config.hpp"

using tiercel::parse_config;

namespace {
std::string error_of(const std::string& text) {
    auto result = parse_config(text, "pool.toml");
    REQUIRE_MESSAGE(!result.ok(), "expected a config error for:\n" << text);
    return result.error().message();
}
}  // namespace

TEST_CASE("a pool section with disks is read") {
    auto config = parse_config(R"(
[pool]
name = "tank"
k = 3
m = 1
chunk_size = "256KiB"
compression = "lz4"
[[pool.disk]]
path = "/mnt/a"
tier = "ssd"
capacity = "4TB"
failure_domain = "shelf-a"
[[pool.disk]]
path = "/mnt/b"
)", "p.toml");
    REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message()));
    CHECK(config->pool.configured);
    CHECK(config->pool.k == 3);
    CHECK(config->pool.m == 1);
    CHECK(config->pool.chunk_size == 256 * 1024);
    CHECK(config->pool.compression == "lz4");
    REQUIRE(config->pool.disks.size() == 2);
    CHECK(config->pool.disks[0].tier == "ssd");
    CHECK(*config->pool.disks[0].capacity == 4'000'000'000'000ULL);
    CHECK(config->pool.disks[1].tier == "hdd");
    CHECK_FALSE(config->pool.disks[1].capacity.has_value());
}

TEST_CASE("pool errors name the disk entry and key") {
    CHECK(error_of("[pool]\nk = 40").find("between 1 and 32") != std::string::npos);
    CHECK(error_of("[pool]\nm = -1").find("pool.m") != std::string::npos);
    CHECK(error_of("[pool]\nchunk_size = \"1000\"").find("multiple of 4 KiB") != std::string::npos);
    CHECK(error_of("[pool]\ncompression = \"gzip\"").find("zstd, lz4, none") != std::string::npos);
    CHECK(error_of("[[pool.disk]]\ntier = \"hdd\"").find("pool.disk[0].path") != std::string::npos);
    CHECK(error_of("[[pool.disk]]\npath = \"/a\"\ntier = \"floppy\"").find("pool.disk[0].tier") != std::string::npos);
    std::string twice = error_of("[[pool.disk]]\npath = \"/a\"\n[[pool.disk]]\npath = \"/a\"\n");
    CHECK(twice.find("listed twice") != std::string::npos);
    std::string unknown = error_of("[[pool.disk]]\npath = \"/a\"\nspeed = 7\n");
    CHECK(unknown.find("pool.disk[0].speed") != std::string::npos);
    CHECK(unknown.find("pool.toml:3:") != std::string::npos);
}
