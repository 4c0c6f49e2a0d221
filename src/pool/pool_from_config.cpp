#include "tiercel/pool/pool_from_config.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tiercel/io/posix_disk.hpp"

namespace tiercel::pool {
namespace {

Result<std::string> read_passphrase(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Error::from_errno(errno, "cannot read key_file " + path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string passphrase = buffer.str();
    while (!passphrase.empty() && (passphrase.back() == '\n' || passphrase.back() == '\r'))
        passphrase.pop_back();
    if (passphrase.empty())
        return make_error(Errc::invalid_input, "key_file " + path + " is empty");
    return passphrase;
}

Result<std::vector<int>> lock_disks(const PoolConfig& config) {
    std::vector<int> fds;
    for (const auto& disk : config.disks) {
        int fd = ::open(disk.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            continue;  // a missing disk cannot be written by anyone either
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd);
            for (int held : fds)
                ::close(held);
            return make_error(Errc::busy, "disk " + disk.path + " of pool '" + config.name +
                                              "' is in use by another tiercel process (is the daemon running? "
                                              "stop it, or use the command through its API)");
        }
        fds.push_back(fd);
    }
    return fds;
}

}  // namespace

PoolHandle::PoolHandle(std::unique_ptr<Pool> pool, std::vector<int> lock_fds)
    : pool_(std::move(pool)), lock_fds_(std::move(lock_fds)) {}

PoolHandle::~PoolHandle() {
    pool_.reset();
    for (int fd : lock_fds_)
        ::close(fd);
}

Result<PoolSpec> spec_from_config(const PoolConfig& config) {
    if (!config.configured)
        return make_error(Errc::invalid_input, "the config has no [pool] section");
    PoolSpec spec;
    spec.name = config.name;
    spec.k = config.k;
    spec.m = config.m;
    spec.chunk_size = config.chunk_size;
    spec.compression = config.compression;
    spec.compression_level = config.compression_level;
    if (!config.key_file.empty()) {
        TIERCEL_ASSIGN(spec.passphrase, read_passphrase(config.key_file));
    }
    for (size_t i = 0; i < config.disks.size(); ++i) {
        const PoolDiskConfig& disk = config.disks[i];
        PoolDiskSpec entry;
        entry.path = disk.path;
        entry.tier = disk.tier;
        entry.capacity = disk.capacity;
        entry.failure_domain = disk.failure_domain;
        auto opened = io::PosixDisk::open("disk" + std::to_string(i), disk.path);
        if (opened)
            entry.disk = *opened;
        else
            entry.unavailable_reason = opened.error().message();
        spec.disks.push_back(std::move(entry));
    }
    return spec;
}

Result<std::unique_ptr<PoolHandle>> open_configured_pool(const PoolConfig& config, PoolOpenMode mode,
                                                         const CreateOptions& options) {
    TIERCEL_ASSIGN(PoolSpec spec, spec_from_config(config));
    TIERCEL_ASSIGN(auto locks, lock_disks(config));
    auto pool = mode == PoolOpenMode::create ? Pool::create(spec, options) : Pool::open(spec);
    if (!pool) {
        for (int fd : locks)
            ::close(fd);
        return pool.error();
    }
    return std::make_unique<PoolHandle>(std::move(*pool), std::move(locks));
}

}  // namespace tiercel::pool
