// Test support: a unique directory under /tmp, removed with everything in it when the test ends.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace tiercel::testing {

class TempDir {
public:
    explicit TempDir(const std::string& prefix = "tiercel-test") {
        std::string templ = "/tmp/" + prefix + "-XXXXXX";
        const char* made = ::mkdtemp(templ.data());
        REQUIRE(made != nullptr);
        path_ = made;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace tiercel::testing
