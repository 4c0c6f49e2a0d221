// Block-device discovery through /sys (include/tiercel/health/discovery.hpp).
#include "tiercel/health/discovery.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>

namespace tiercel::health {
namespace {

namespace fs = std::filesystem;

std::string read_line(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    return line;
}

// `device_dir` is a resolved /sys/devices/... directory of a block device (disk or partition).
void walk(const fs::path& device_dir, const std::string& sys_root, std::set<std::string>& disks, int depth,
          std::string& reason) {
    std::error_code ec;
    if (depth > 16) {
        reason = "block device nesting deeper than 16 levels under " + device_dir.string();
        return;
    }
    fs::path dir = device_dir;
    if (fs::exists(dir / "partition", ec))
        dir = dir.parent_path();  // a partition's directory sits inside its disk's
    fs::path slaves = dir / "slaves";
    bool has_slaves = false;
    if (fs::is_directory(slaves, ec)) {
        for (const auto& entry : fs::directory_iterator(slaves, ec)) {
            has_slaves = true;
            fs::path target = fs::canonical(entry.path(), ec);
            if (!ec)
                walk(target, sys_root, disks, depth + 1, reason);
        }
    }
    if (has_slaves)
        return;
    std::string name = dir.filename().string();
    if (name.rfind("loop", 0) == 0) {
        std::string backing = read_line(dir / "loop" / "backing_file");
        if (!backing.empty()) {
            struct stat st {};
            if (::stat(backing.c_str(), &st) == 0 && major(st.st_dev) != 0) {
                auto nested = discover_from_devnum(major(st.st_dev), minor(st.st_dev), sys_root);
                disks.insert(nested.disks.begin(), nested.disks.end());
                if (nested.disks.empty())
                    reason = "loop device " + name + " is backed by " + backing + ": " + nested.reason;
                return;
            }
        }
        reason = "loop device " + name + " has no backing file on a block device";
        return;
    }
    disks.insert("/dev/" + name);
}

}  // namespace

BlockDevices discover_from_devnum(unsigned maj, unsigned min, const std::string& sys_root) {
    BlockDevices result;
    std::string number = std::to_string(maj) + ":" + std::to_string(min);
    if (maj == 0) {
        result.reason = "device " + number + " is not a block device (tmpfs, overlay, FUSE or a network filesystem)";
        return result;
    }
    std::error_code ec;
    fs::path link = fs::path(sys_root) / "dev" / "block" / number;
    fs::path device_dir = fs::canonical(link, ec);
    if (ec) {
        result.reason = "no block device " + number + " in " + sys_root + "/dev/block";
        return result;
    }
    std::set<std::string> disks;
    walk(device_dir, sys_root, disks, 0, result.reason);
    result.disks.assign(disks.begin(), disks.end());
    if (!result.disks.empty())
        result.reason.clear();
    else if (result.reason.empty())
        result.reason = "no whole disk found under " + device_dir.string();
    return result;
}

BlockDevices discover_block_devices(const std::string& path, const std::string& sys_root) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        BlockDevices result;
        result.reason = "cannot stat " + path + ": " + std::error_code(errno, std::generic_category()).message();
        return result;
    }
    auto result = discover_from_devnum(major(st.st_dev), minor(st.st_dev), sys_root);
    if (result.disks.empty())
        result.reason = path + ": " + result.reason;
    return result;
}

}  // namespace tiercel::health
