// Contract: a cold target holds payload objects under string keys. The HSM only ever creates an object, reads
// ranges of it, lists and removes objects, so S3, rclone and tape targets fit behind the same interface later.
//  - create() returns a writer; the object becomes visible under its key only after commit() (a dir target writes
//    "<key>.part", fsyncs and renames), so a half-written payload is never mistaken for a copy. Dropping an
//    uncommitted writer discards what was written.
//  - open() fails with Errc::not_found or Errc::io_error when the object or the whole target is gone.
// Implementations are safe to call from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tiercel/core/config.hpp"
#include "tiercel/core/error.hpp"
#include "tiercel/hsm/payload.hpp"
#include "tiercel/pool/pool_gate.hpp"

namespace tiercel::pool {
class Pool;
}

namespace tiercel::hsm {

class ObjectWriter : public ByteSink {
public:
    virtual Status commit() = 0;
};

class Target {
public:
    virtual ~Target() = default;
    virtual const std::string& name() const = 0;
    virtual std::string describe() const = 0;  // "dir /mnt/archive"
    virtual Result<std::unique_ptr<ObjectWriter>> create(const std::string& key) = 0;
    virtual Result<std::unique_ptr<ByteSource>> open(const std::string& key) = 0;
    virtual Status remove(const std::string& key) = 0;
    virtual Result<std::vector<std::string>> list() = 0;
};

// A directory on any mounted filesystem (local disk, NFS, USB drive).
std::unique_ptr<Target> make_dir_target(const std::string& name, const std::string& path);

// Tiercel's own erasure-coded pool (hsm -> pool). Payloads are spooled to an O_TMPFILE in `scratch_dir`, then put.
// In the daemon, `gate` is the PoolService's, held shared around each pool call.
std::unique_ptr<Target> make_pool_target(const std::string& name, pool::Pool& pool, const std::string& scratch_dir,
                                         pool::PoolGate gate = {});

// The payload key of one archived version: "tiercel-hsm/<id % 256 as 2 hex>/<file id>-v<version>.zst".
std::string payload_key(int64_t file_id, int64_t version);

}  // namespace tiercel::hsm
