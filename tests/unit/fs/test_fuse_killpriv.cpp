// FUSE_HANDLE_KILLPRIV_V2 negotiation and hints, on request and reply bytes laid out as the kernel and libfuse do.
#include <doctest/doctest.h>
#include <linux/fuse.h>

#include <cstring>
#include <vector>

#include "../../../src/fs/fuse_killpriv.hpp"

namespace tiercel::fs {
namespace {

template <typename Op>
std::vector<char> raw_request(uint32_t opcode, uint64_t unique, const Op& op) {
    fuse_in_header in{};
    in.len = sizeof in + sizeof op;
    in.opcode = opcode;
    in.unique = unique;
    std::vector<char> raw(in.len);
    std::memcpy(raw.data(), &in, sizeof in);
    std::memcpy(raw.data() + sizeof in, &op, sizeof op);
    return raw;
}

struct InitReply {
    fuse_out_header out{};
    fuse_init_out init{};
    iovec iov[2]{};
    explicit InitReply(uint64_t unique) {
        out.unique = unique;
        init.flags = FUSE_ASYNC_READ;
        iov[0] = {&out, sizeof out};
        iov[1] = {&init, sizeof init};
    }
};

}  // namespace

TEST_CASE("KILLPRIV_V2 is added to the INIT answer only when the kernel offered it") {
    for (bool offered : {true, false}) {
        KillPrivNegotiation negotiation;
        fuse_init_in init{};
        init.flags = FUSE_ASYNC_READ | (offered ? FUSE_HANDLE_KILLPRIV_V2 : 0);
        auto raw = raw_request(FUSE_INIT, 2, init);
        negotiation.on_request(raw.data(), raw.size());
        InitReply other(4);  // a reply to something else is left alone
        negotiation.on_reply(other.iov, 2);
        CHECK(other.init.flags == FUSE_ASYNC_READ);
        InitReply reply(2);
        negotiation.on_reply(reply.iov, 2);
        CHECK(negotiation.accepted() == offered);
        CHECK(reply.init.flags == (FUSE_ASYNC_READ | (offered ? FUSE_HANDLE_KILLPRIV_V2 : 0u)));
    }
}

TEST_CASE("a failed INIT answer and a truncated INIT request take no KILLPRIV_V2") {
    KillPrivNegotiation negotiation;
    fuse_init_in init{};
    init.flags = FUSE_HANDLE_KILLPRIV_V2;
    auto raw = raw_request(FUSE_INIT, 2, init);
    negotiation.on_request(raw.data(), sizeof(fuse_in_header) + 4);  // cut short: ignored
    InitReply reply(2);
    negotiation.on_reply(reply.iov, 2);
    CHECK_FALSE(negotiation.accepted());

    KillPrivNegotiation refused;
    refused.on_request(raw.data(), raw.size());
    InitReply error(2);
    error.out.error = -EPROTO;
    refused.on_reply(error.iov, 2);
    CHECK_FALSE(refused.accepted());
    CHECK(error.init.flags == FUSE_ASYNC_READ);
}

TEST_CASE("the per-request kill-setuid hint follows the request being handled") {
    fuse_write_in write{};
    write.write_flags = FUSE_WRITE_KILL_SUIDGID;
    auto raw = raw_request(FUSE_WRITE, 10, write);
    note_request_hints(raw.data(), raw.size());
    CHECK(request_kills_suidgid());

    fuse_setattr_in setattr{};
    setattr.valid = FATTR_SIZE;
    raw = raw_request(FUSE_SETATTR, 12, setattr);
    note_request_hints(raw.data(), raw.size());
    CHECK_FALSE(request_kills_suidgid());
    setattr.valid |= FATTR_KILL_SUIDGID;
    raw = raw_request(FUSE_SETATTR, 14, setattr);
    note_request_hints(raw.data(), raw.size());
    CHECK(request_kills_suidgid());

    fuse_open_in open{};
    open.open_flags = FUSE_OPEN_KILL_SUIDGID;
    raw = raw_request(FUSE_OPEN, 16, open);
    note_request_hints(raw.data(), sizeof(fuse_in_header));  // truncated: no hint
    CHECK_FALSE(request_kills_suidgid());
    note_request_hints(raw.data(), raw.size());
    CHECK(request_kills_suidgid());
}

}  // namespace tiercel::fs
