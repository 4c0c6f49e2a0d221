// Contract: parsing of "HOST:PORT" listen addresses. HOST is an IPv4 literal, a bracketed IPv6 literal
// ("[::1]:8080") or "localhost"; PORT is 0..65535 (0 = any free port, reported in the log once bound).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tiercel/core/error.hpp"

namespace tiercel {

struct ListenAddress {
    std::string host;  // a numeric address, brackets removed
    uint16_t port = 0;
    bool is_loopback() const;
};

Result<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace tiercel
