// Policy globs: `*` and `?` inside a segment, `**` across segments.
#include <doctest/doctest.h>

#include "tiercel/hsm/policy.hpp"

using tiercel::hsm::glob_match;

TEST_CASE("globs match absolute paths segment by segment") {
    CHECK(glob_match("/srv/hot/media/**", "/srv/hot/media/a.mkv"));
    CHECK(glob_match("/srv/hot/media/**", "/srv/hot/media/x/y/z.mkv"));
    CHECK(!glob_match("/srv/hot/media/**", "/srv/hot/other/a.mkv"));
    CHECK(glob_match("**/*.part", "/srv/hot/media/film.mkv.part"));
    CHECK(!glob_match("**/*.part", "/srv/hot/media/film.mkv"));
    CHECK(glob_match("/srv/*/a?.txt", "/srv/hot/ab.txt"));
    CHECK(!glob_match("/srv/*/a?.txt", "/srv/hot/deeper/ab.txt"));
    CHECK(glob_match("/srv/**/b/*.txt", "/srv/b/c.txt"));
}
