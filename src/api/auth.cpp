#include "tiercel/api/auth.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tiercel::api {
namespace {

Result<std::string> read_token(const std::string& path) {
    struct stat info{};
    if (::stat(path.c_str(), &info) != 0)
        return Error::from_errno(errno, "token file " + path);
    if (info.st_mode & 077)
        return make_error(Errc::permission, "token file " + path + " is readable by group or others; chmod 600 it");
    std::ifstream in(path);
    std::string token;
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' '))
        token.pop_back();
    if (token.size() < 16)
        return make_error(Errc::invalid_input, "token file " + path + " holds no token of at least 16 characters");
    return token;
}

Result<std::string> create_token(const std::string& path) {
    std::error_code ec;
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !std::filesystem::exists(parent)) {
        std::filesystem::create_directories(parent, ec);
        if (ec)
            return make_error(Errc::io_error, "cannot create " + parent.string() + ": " + ec.message());
        ::chmod(parent.c_str(), 0700);
    }
    if (sodium_init() < 0)
        return make_error(Errc::internal, "libsodium failed to initialise");
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    char hex[sizeof raw * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    std::string token(hex);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return Error::from_errno(errno, "cannot create token file " + path);
    std::string line = token + "\n";
    bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!written)
        return Error::from_errno(errno, "cannot write token file " + path);
    return token;
}

}  // namespace

Result<std::string> load_or_create_token(const std::string& path) {
    if (::access(path.c_str(), F_OK) == 0)
        return read_token(path);
    auto created = create_token(path);
    if (!created && created.error().code() == Errc::already_exists)
        return read_token(path);  // another process created it first
    return created;
}

bool token_matches(std::string_view expected, std::string_view presented) {
    if (expected.empty() || expected.size() != presented.size())
        return false;
    unsigned char difference = 0;
    for (size_t i = 0; i < expected.size(); ++i)
        difference |= static_cast<unsigned char>(expected[i] ^ presented[i]);
    return difference == 0;
}

std::string bearer_token(const Request& request) {
    auto header = request.find(http::field::authorization);
    if (header == request.end())
        return "";
    std::string_view value = header->value();
    constexpr std::string_view prefix = "Bearer ";
    if (value.size() <= prefix.size() || value.substr(0, prefix.size()) != prefix)
        return "";
    return std::string(value.substr(prefix.size()));
}

}  // namespace tiercel::api
