// Contract: the one error convention of Tiercel's core layers.
// Every fallible function below the C-callback boundaries (FUSE, fanotify, HTTP) returns Result<T>: either a value or
// an Error. An Error carries a category (Errc) that tells corruption from I/O failure from bad input, and a message
// that names the object concerned (disk, file, key, line). No exception crosses a C callback; the boundaries convert
// an Error to an errno with to_errno() in one place.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

namespace tiercel {

enum class Errc {
    ok = 0,
    invalid_input,   // a bad argument, config value or request: the caller's fault (exit code 2 at the CLI)
    not_found,       // the named thing does not exist
    already_exists,  // the named thing exists and must not be replaced
    io_error,        // a disk or OS call failed; the data may be fine elsewhere
    corruption,      // bytes on disk fail a checksum or a format check: never return them
    busy,            // locked or in use by someone else; retry later
    no_space,        // not enough disks or bytes to keep the promised redundancy
    unavailable,     // too much is missing to answer (e.g. more than m shards lost)
    permission,      // authentication or authorisation failed
    cancelled,       // the operation was stopped on purpose (shutdown, Ctrl-C)
    internal,        // a broken invariant in Tiercel itself
};

std::string_view errc_name(Errc code);

class Error {
public:
    Error() = default;
    Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

    Errc code() const { return code_; }
    const std::string& message() const { return message_; }
    // "corruption: shard 3 of stripe 17 on disk2: checksum mismatch"
    std::string describe() const;
    // Prefix context while an error travels up: err.context("reading object photos/a.jpg").
    Error context(std::string_view outer) const;

    static Error from_errno(int err, std::string_view what);

private:
    Errc code_ = Errc::internal;
    std::string message_;
};

// The errno a C boundary (FUSE reply, fanotify response) reports for an Error.
int to_errno(const Error& error);

// A minimal std::expected stand-in (C++20 has none): holds a T or an Error.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { return std::get<1>(state_); }
    T value_or(T fallback) const { return ok() ? value() : std::move(fallback); }

private:
    std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }

private:
    Error error_;
    bool ok_ = true;
};

using Status = Result<void>;

inline Error make_error(Errc code, std::string message) { return Error(code, std::move(message)); }

}  // namespace tiercel

// Return early with the error of a failed Result. Usage: TIERCEL_TRY(disk.sync());
#define TIERCEL_TRY(expr)                                   \
    do {                                                     \
        auto&& tiercel_try_result_ = (expr);                 \
        if (!tiercel_try_result_.ok())                       \
            return tiercel_try_result_.error();              \
    } while (0)

// Bind the value of a Result or return its error. Usage: TIERCEL_ASSIGN(auto label, read_label(disk));
#define TIERCEL_CONCAT_INNER_(a, b) a##b
#define TIERCEL_CONCAT_(a, b) TIERCEL_CONCAT_INNER_(a, b)
#define TIERCEL_ASSIGN(decl, expr) TIERCEL_ASSIGN_IMPL_(TIERCEL_CONCAT_(tiercel_assign_, __LINE__), decl, expr)
#define TIERCEL_ASSIGN_IMPL_(tmp, decl, expr) \
    auto tmp = (expr);                         \
    if (!tmp.ok())                             \
        return tmp.error();                    \
    decl = std::move(tmp).value()
