// The path rules every Disk shares (io/path.hpp).
#include <doctest/doctest.h>

#include "tiercel/io/path.hpp"

namespace tiercel::io {
namespace {

TEST_CASE("validate_path accepts clean relative paths and rejects every other spelling") {
    for (std::string_view good : {"a", "a/b", ".hidden", "a/.tmp.x", "a..b", "..."})
        CHECK_MESSAGE(validate_path("d", "op", good, PathKind::file).ok(), good);
    using namespace std::literals;
    for (std::string_view bad : {""sv, "/a"sv, ".."sv, "../a"sv, "a/.."sv, "a/../b"sv, "."sv, "./a"sv, "a//b"sv, "a/"sv,
                                 "a\0b"sv}) {
        auto status = validate_path("disk7", "read_file", bad, PathKind::file);
        REQUIRE_MESSAGE(!status.ok(), bad);
        CHECK(status.error().code() == Errc::invalid_input);
        CHECK(status.error().message().find("disk7: read_file") == 0);
    }
    CHECK(validate_path("d", "op", "", PathKind::dir).ok());
    CHECK(!validate_path("d", "op", "/", PathKind::dir).ok());
}

TEST_CASE("path helpers split and join") {
    CHECK(parent_dir("a/b/c") == "a/b");
    CHECK(parent_dir("c") == "");
    CHECK(base_name("a/b/c") == "c");
    CHECK(base_name("c") == "c");
    CHECK(join_path("", "x") == "x");
    CHECK(join_path("a/b", "x") == "a/b/x");
    CHECK(is_same_or_under("a/b", "a"));
    CHECK(is_same_or_under("a", "a"));
    CHECK(is_same_or_under("anything", ""));
    CHECK(!is_same_or_under("ab", "a"));
    CHECK(!is_same_or_under("a", "a/b"));
}

}  // namespace
}  // namespace tiercel::io
