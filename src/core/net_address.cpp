#include "tiercel/core/net_address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace tiercel {

bool ListenAddress::is_loopback() const {
    in_addr v4{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return host == "::1";
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
    auto bad = [&](std::string_view why) {
        return make_error(Errc::invalid_input, "'" + std::string(text) + "' is not a listen address (" +
                                                   std::string(why) + "; expected HOST:PORT like 127.0.0.1:8080)");
    };
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
        return bad("no port");
    std::string host(text.substr(0, colon));
    std::string_view port_text = text.substr(colon + 1);
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535)
        return bad("the port must be a number from 0 to 65535");
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host == "localhost")
        host = "127.0.0.1";
    in_addr v4{};
    in6_addr v6{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) != 1 && ::inet_pton(AF_INET6, host.c_str(), &v6) != 1)
        return bad("the host must be a numeric IP address or localhost");
    return ListenAddress{host, static_cast<uint16_t>(port)};
}

}  // namespace tiercel
