// Describing an archived file without opening it.
#include "tiercel/hsm/report.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tiercel/hsm/file_state.hpp"

namespace tiercel::hsm {
namespace {

struct PathState {
    struct stat st {};
    std::optional<FileState> xattr;
};

Result<PathState> look(const std::string& path) {
    PathState result;
    if (::lstat(path.c_str(), &result.st) != 0)
        return Error::from_errno(errno, path);
    char buffer[256];
    ssize_t n = ::lgetxattr(path.c_str(), state_xattr, buffer, sizeof buffer - 1);
    if (n >= 0)
        result.xattr = parse_state(std::string(buffer, static_cast<size_t>(n)));
    return result;
}

int64_t mtime_ns(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec; }

Result<std::string> state_of(Catalog& catalog, const PathState& now) {
    if (!now.xattr)
        return std::string("resident");
    if (now.xattr->state != "premigrated")
        return now.xattr->state;
    TIERCEL_ASSIGN(auto version, catalog.version(now.xattr->file_id, now.xattr->version));
    if (!version || version->size != static_cast<uint64_t>(now.st.st_size) || version->mtime_ns != mtime_ns(now.st))
        return std::string("dirty");
    return std::string("premigrated");
}

// Data ranges from SEEK_DATA/SEEK_HOLE on a read-only open: lseek reads no content, so it generates no event.
nlohmann::json resident_ranges(const std::string& path, uint64_t size) {
    nlohmann::json ranges = nlohmann::json::array();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return ranges;
    off_t offset = 0;
    while (static_cast<uint64_t>(offset) < size) {
        off_t data = ::lseek(fd, offset, SEEK_DATA);
        if (data < 0)
            break;
        off_t hole = ::lseek(fd, data, SEEK_HOLE);
        if (hole < 0)
            hole = static_cast<off_t>(size);
        ranges.push_back({{"offset", data}, {"length", hole - data}});
        offset = hole;
    }
    ::close(fd);
    return ranges;
}

}  // namespace

Result<std::string> effective_state(Catalog& catalog, const std::string& path) {
    TIERCEL_ASSIGN(auto now, look(path));
    return state_of(catalog, now);
}

Result<nlohmann::json> describe_file(Catalog& catalog, const std::string& path, bool with_ranges) {
    TIERCEL_ASSIGN(auto now, look(path));
    TIERCEL_ASSIGN(auto state, state_of(catalog, now));
    nlohmann::json out = {{"path", path},
                          {"state", state},
                          {"size", now.st.st_size},
                          {"blocks", now.st.st_blocks},
                          {"mtime_ns", mtime_ns(now.st)}};
    TIERCEL_ASSIGN(auto row, catalog.file_by_path(path));
    if (!row && now.xattr) {
        TIERCEL_ASSIGN(row, catalog.file_by_id(now.xattr->file_id));
    }
    out["pinned"] = row && row->pinned;
    out["file_id"] = row ? row->id : 0;
    out["current_version"] = now.xattr ? now.xattr->version : 0;
    nlohmann::json versions = nlohmann::json::array();
    if (row) {
        TIERCEL_ASSIGN(auto all, catalog.versions(row->id));
        for (const auto& v : all) {
            TIERCEL_ASSIGN(auto copies, catalog.copies(row->id, v.version));
            nlohmann::json copy_list = nlohmann::json::array();
            for (const auto& c : copies)
                copy_list.push_back({{"target", c.target}, {"key", c.key}, {"payload_size", c.payload_size}});
            versions.push_back({{"version", v.version}, {"size", v.size}, {"mtime_ns", v.mtime_ns},
                                {"blake2b_256", v.blake2b}, {"archived_ns", v.archived_ns}, {"copies", copy_list}});
        }
    }
    out["versions"] = versions;
    if (with_ranges && S_ISREG(now.st.st_mode))
        out["resident_ranges"] = resident_ranges(path, static_cast<uint64_t>(now.st.st_size));
    return out;
}

}  // namespace tiercel::hsm
