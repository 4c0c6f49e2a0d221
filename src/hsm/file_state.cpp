// The state xattr on archived files, and file snapshots.
#include "tiercel/hsm/file_state.hpp"

#include <fcntl.h>
#include <sys/xattr.h>

#include <sstream>
#include <vector>

namespace tiercel::hsm {
namespace {

int64_t to_ns(const timespec& t) { return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }
timespec from_ns(int64_t ns) { return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)}; }

}  // namespace

std::string format_state(const FileState& state) {
    return "state=" + state.state + " id=" + std::to_string(state.file_id) + " version=" +
           std::to_string(state.version);
}

std::optional<FileState> parse_state(const std::string& text) {
    FileState state;
    std::istringstream in(text);
    std::string field;
    int found = 0;
    while (in >> field) {
        auto eq = field.find('=');
        if (eq == std::string::npos)
            return std::nullopt;
        auto key = field.substr(0, eq), value = field.substr(eq + 1);
        try {
            if (key == "state")
                state.state = value, ++found;
            else if (key == "id")
                state.file_id = std::stoll(value), ++found;
            else if (key == "version")
                state.version = std::stoll(value), ++found;
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    if (found != 3)
        return std::nullopt;
    return state;
}

Result<std::optional<FileState>> read_state(int fd) {
    char buffer[256];
    ssize_t n = ::fgetxattr(fd, state_xattr, buffer, sizeof buffer - 1);
    if (n < 0 && errno == ENODATA)
        return std::optional<FileState>();
    if (n < 0)
        return Error::from_errno(errno, std::string("reading xattr ") + state_xattr);
    auto state = parse_state(std::string(buffer, static_cast<size_t>(n)));
    if (!state)
        return make_error(Errc::corruption, std::string("xattr ") + state_xattr + " is malformed");
    return std::optional<FileState>(*state);
}

Status write_state(int fd, const FileState& state) {
    auto text = format_state(state);
    if (::fsetxattr(fd, state_xattr, text.data(), text.size(), 0) != 0)
        return Error::from_errno(errno, std::string("writing xattr ") + state_xattr);
    return {};
}

Result<Snapshot> snapshot(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return Error::from_errno(errno, "fstat");
    Snapshot s;
    s.dev = st.st_dev;
    s.ino = st.st_ino;
    s.size = static_cast<uint64_t>(st.st_size);
    s.blocks = static_cast<uint64_t>(st.st_blocks);
    s.atime_ns = to_ns(st.st_atim);
    s.mtime_ns = to_ns(st.st_mtim);
    s.ctime_ns = to_ns(st.st_ctim);
    s.mode = st.st_mode;
    s.uid = st.st_uid;
    s.gid = st.st_gid;
    return s;
}

bool same_identity(const Snapshot& a, const Snapshot& b) {
    return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.mtime_ns == b.mtime_ns &&
           a.ctime_ns == b.ctime_ns;
}

Result<std::map<std::string, std::string>> read_xattrs(int fd) {
    std::map<std::string, std::string> result;
    ssize_t length = ::flistxattr(fd, nullptr, 0);
    if (length < 0)
        return Error::from_errno(errno, "listing xattrs");
    std::vector<char> names(static_cast<size_t>(length) + 1);
    length = ::flistxattr(fd, names.data(), names.size());
    if (length < 0)
        return Error::from_errno(errno, "listing xattrs");
    for (ssize_t i = 0; i < length;) {
        std::string name(names.data() + i);
        i += static_cast<ssize_t>(name.size()) + 1;
        if (name == state_xattr)
            continue;
        ssize_t size = ::fgetxattr(fd, name.c_str(), nullptr, 0);
        if (size < 0)
            return Error::from_errno(errno, "reading xattr " + name);
        std::string value(static_cast<size_t>(size), '\0');
        size = ::fgetxattr(fd, name.c_str(), value.data(), value.size());
        if (size < 0)
            return Error::from_errno(errno, "reading xattr " + name);
        value.resize(static_cast<size_t>(size));
        result[name] = std::move(value);
    }
    return result;
}

Status restore_times(int fd, const Snapshot& times) {
    timespec values[2] = {from_ns(times.atime_ns), from_ns(times.mtime_ns)};
    if (::futimens(fd, values) != 0)
        return Error::from_errno(errno, "restoring atime and mtime");
    return {};
}

}  // namespace tiercel::hsm
