// The `pool` cold target: payload objects stored in Tiercel's own erasure-coded pool, under their payload key.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "tiercel/hsm/target.hpp"
#include "tiercel/pool/pool.hpp"
#include "tiercel/pool/pool_gate.hpp"

namespace tiercel::hsm {
namespace {

// The pool's put() pulls its input, the archiver pushes: the payload is spooled to an unnamed temporary file
// (O_TMPFILE in the scratch directory) and handed to put() at commit. Every pool call holds the daemon's pool gate
// shared (pool_gate.hpp), so a member change never runs under an archive or a recall.
class PoolWriter final : public ObjectWriter {
public:
    PoolWriter(pool::Pool& pool, pool::PoolGate gate, std::string key, int spool)
        : pool_(pool), gate_(gate), key_(std::move(key)), spool_(spool) {}
    ~PoolWriter() override { ::close(spool_); }
    Status write(std::span<const uint8_t> bytes) override {
        size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = ::write(spool_, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return Error::from_errno(errno, "spooling a payload for the pool");
            done += static_cast<size_t>(n);
        }
        return {};
    }
    Status commit() override {
        off_t offset = 0;
        auto source = [this, &offset](std::span<std::byte> out) -> Result<size_t> {
            ssize_t n = ::pread(spool_, out.data(), out.size(), offset);
            if (n < 0)
                return Error::from_errno(errno, "reading the spooled payload");
            offset += n;
            return static_cast<size_t>(n);
        };
        auto shared = gate_.share();
        TIERCEL_TRY(pool_.put(key_, source));
        return {};
    }

private:
    pool::Pool& pool_;
    pool::PoolGate gate_;
    std::string key_;
    int spool_;
};

class PoolSource final : public ByteSource {
public:
    PoolSource(pool::Pool& pool, pool::PoolGate gate, std::string key, uint64_t size)
        : pool_(pool), gate_(gate), key_(std::move(key)), size_(size) {}
    uint64_t size() const override { return size_; }
    Status read_at(uint64_t offset, std::span<uint8_t> out) override {
        size_t filled = 0;
        auto shared = gate_.share();
        TIERCEL_TRY(pool_.get(key_, offset, out.size(), [&](std::span<const std::byte> bytes) -> Status {
            if (filled + bytes.size() > out.size())
                return make_error(Errc::corruption, "pool object " + key_ + " returned more than asked");
            std::memcpy(out.data() + filled, bytes.data(), bytes.size());
            filled += bytes.size();
            return {};
        }));
        if (filled != out.size())
            return make_error(Errc::corruption, "pool object " + key_ + " is shorter than expected");
        return {};
    }

private:
    pool::Pool& pool_;
    pool::PoolGate gate_;
    std::string key_;
    uint64_t size_;
};

class PoolTarget final : public Target {
public:
    PoolTarget(std::string name, pool::Pool& pool, pool::PoolGate gate, std::string scratch)
        : name_(std::move(name)), pool_(pool), gate_(gate), scratch_(std::move(scratch)) {}
    const std::string& name() const override { return name_; }
    std::string describe() const override { return "pool"; }

    Result<std::unique_ptr<ObjectWriter>> create(const std::string& key) override {
        int spool = ::open(scratch_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (spool < 0)
            return Error::from_errno(errno, "target " + name_ + ": spool file in " + scratch_);
        return std::unique_ptr<ObjectWriter>(new PoolWriter(pool_, gate_, key, spool));
    }
    Result<std::unique_ptr<ByteSource>> open(const std::string& key) override {
        auto shared = gate_.share();
        TIERCEL_ASSIGN(auto info, pool_.stat(key));
        return std::unique_ptr<ByteSource>(new PoolSource(pool_, gate_, key, info.size));
    }
    Status remove(const std::string& key) override {
        auto shared = gate_.share();
        auto removed = pool_.remove(key);
        if (!removed && removed.error().code() != Errc::not_found)
            return removed;
        return {};
    }
    Result<std::vector<std::string>> list() override {
        std::vector<std::string> keys;
        auto shared = gate_.share();
        for (const auto& object : pool_.list("tiercel-hsm/"))
            keys.push_back(object.name);
        return keys;
    }

private:
    std::string name_;
    pool::Pool& pool_;
    pool::PoolGate gate_;
    std::string scratch_;
};

}  // namespace

std::unique_ptr<Target> make_pool_target(const std::string& name, pool::Pool& pool, const std::string& scratch_dir,
                                         pool::PoolGate gate) {
    return std::make_unique<PoolTarget>(name, pool, gate, scratch_dir);
}

}  // namespace tiercel::hsm
