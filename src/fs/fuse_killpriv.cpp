// FUSE_HANDLE_KILLPRIV_V2 negotiation and per-request hints (see fuse_killpriv.hpp).
#include "fuse_killpriv.hpp"

#include <linux/fuse.h>

#include <cstddef>
#include <cstring>

namespace tiercel::fs {
namespace {

thread_local bool kills_suidgid = false;

template <typename T>
bool read_after_header(const void* raw, size_t size, T& out) {
    if (size < sizeof(fuse_in_header) + sizeof(T))
        return false;
    std::memcpy(&out, static_cast<const char*>(raw) + sizeof(fuse_in_header), sizeof(T));
    return true;
}

}  // namespace

void note_request_hints(const void* raw, size_t size) {
    kills_suidgid = false;
    fuse_in_header in{};
    if (size < sizeof in)
        return;
    std::memcpy(&in, raw, sizeof in);
    if (in.opcode == FUSE_WRITE) {
        fuse_write_in write{};
        kills_suidgid = read_after_header(raw, size, write) && (write.write_flags & FUSE_WRITE_KILL_SUIDGID);
    } else if (in.opcode == FUSE_SETATTR) {
        fuse_setattr_in setattr{};
        kills_suidgid = read_after_header(raw, size, setattr) && (setattr.valid & FATTR_KILL_SUIDGID);
    } else if (in.opcode == FUSE_OPEN) {
        fuse_open_in open{};
        kills_suidgid = read_after_header(raw, size, open) && (open.open_flags & FUSE_OPEN_KILL_SUIDGID);
    }
}

bool request_kills_suidgid() { return kills_suidgid; }

void KillPrivNegotiation::on_request(const void* raw, size_t size) {
    if (init_unique_.load(std::memory_order_relaxed) != 0)
        return;
    fuse_in_header in{};
    fuse_init_in init{};
    if (size < sizeof in)
        return;
    std::memcpy(&in, raw, sizeof in);
    if (in.opcode != FUSE_INIT || !read_after_header(raw, size, init))
        return;
    offered_ = (init.flags & FUSE_HANDLE_KILLPRIV_V2) != 0;
    init_unique_ = in.unique;
}

// libfuse answers INIT with iov[0] = fuse_out_header and iov[1] = fuse_init_out, whose `flags` is the answer.
void KillPrivNegotiation::on_reply(struct iovec* iov, int count) {
    if (answered_.load(std::memory_order_relaxed) || count < 2 || iov[0].iov_len < sizeof(fuse_out_header))
        return;
    fuse_out_header out{};
    std::memcpy(&out, iov[0].iov_base, sizeof out);
    const uint64_t init_unique = init_unique_.load();
    if (init_unique == 0 || out.unique != init_unique)
        return;
    answered_ = true;
    if (out.error != 0 || !offered_ || iov[1].iov_len < offsetof(fuse_init_out, flags) + sizeof(uint32_t))
        return;
    auto* flags = reinterpret_cast<char*>(iov[1].iov_base) + offsetof(fuse_init_out, flags);
    uint32_t value = 0;
    std::memcpy(&value, flags, sizeof value);
    value |= FUSE_HANDLE_KILLPRIV_V2;
    std::memcpy(flags, &value, sizeof value);
    accepted_ = true;
}

}  // namespace tiercel::fs
