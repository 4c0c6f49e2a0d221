// Shared by the API unit tests: a daemon with no services and the real router from build_router(), so requests go
// straight into the Router without sockets.
#pragma once

#include <memory>
#include <string>

#include "tiercel/api/api.hpp"

namespace tiercel::api::test {

inline const std::string kToken = "0123456789abcdef0123456789abcdef";

struct ApiWorld {
    Daemon daemon{*parse_config("state_dir = \"/tmp/tiercel-unit\"\n", "test.toml")};
    ApiContext context{daemon, kToken};
    std::shared_ptr<Router> router = build_router(context);
};

}  // namespace tiercel::api::test
