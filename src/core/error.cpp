#include "tiercel/core/error.hpp"

#include <cstring>

namespace tiercel {

std::string_view errc_name(Errc code) {
    switch (code) {
    case Errc::ok: return "ok";
    case Errc::invalid_input: return "invalid input";
    case Errc::not_found: return "not found";
    case Errc::already_exists: return "already exists";
    case Errc::io_error: return "I/O error";
    case Errc::corruption: return "corruption";
    case Errc::busy: return "busy";
    case Errc::no_space: return "no space";
    case Errc::unavailable: return "unavailable";
    case Errc::permission: return "permission denied";
    case Errc::cancelled: return "cancelled";
    case Errc::internal: return "internal error";
    }
    return "unknown error";
}

std::string Error::describe() const {
    std::string out(errc_name(code_));
    if (!message_.empty()) {
        out += ": ";
        out += message_;
    }
    return out;
}

Error Error::context(std::string_view outer) const {
    return Error(code_, std::string(outer) + ": " + message_);
}

Error Error::from_errno(int err, std::string_view what) {
    Errc code = Errc::io_error;
    switch (err) {
    case ENOENT: code = Errc::not_found; break;
    case EEXIST: code = Errc::already_exists; break;
    case EINVAL: code = Errc::invalid_input; break;
    case EACCES:
    case EPERM: code = Errc::permission; break;
    case ENOSPC: code = Errc::no_space; break;
    case EBUSY:
    case EAGAIN: code = Errc::busy; break;
    case ECANCELED: code = Errc::cancelled; break;
    default: break;
    }
    return Error(code, std::string(what) + ": " + std::strerror(err));
}

int to_errno(const Error& error) {
    switch (error.code()) {
    case Errc::ok: return 0;
    case Errc::invalid_input: return EINVAL;
    case Errc::not_found: return ENOENT;
    case Errc::already_exists: return EEXIST;
    case Errc::io_error: return EIO;
    case Errc::corruption: return EIO;  // never hand out bytes that failed a check
    case Errc::busy: return EBUSY;
    case Errc::no_space: return ENOSPC;
    case Errc::unavailable: return EIO;
    case Errc::permission: return EACCES;
    case Errc::cancelled: return ECANCELED;
    case Errc::internal: return EIO;
    }
    return EIO;
}

}  // namespace tiercel
