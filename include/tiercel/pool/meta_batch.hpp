// Contract: MetaBatch is an atomic group of puts and removes for the metadata store. The batch is encoded as it is
// built (docs/formats.md (metadata store files) and docs/modules/meta.md, "Batch encoding"), so committing it costs no extra copy and the bytes logged are exactly
// the bytes applied. Keys and values are arbitrary bytes (embedded NULs are fine); a value may be several MiB.
// Later operations in a batch win over earlier ones on the same key. Not thread-safe: build a batch on one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tiercel/core/error.hpp"
#include "tiercel/pool/meta_format.hpp"

namespace tiercel::pool {

enum class MetaOpKind : std::uint8_t { put = 1, remove = 2 };

struct MetaOp {
    MetaOpKind kind = MetaOpKind::put;
    std::string_view key;
    std::string_view value;  // empty for remove
};

class MetaBatch {
public:
    MetaBatch();

    void put(std::string_view key, std::string_view value);
    void remove(std::string_view key);
    void clear();

    std::size_t op_count() const { return op_count_; }
    bool empty() const { return op_count_ == 0; }
    // The encoded form: u32 op count followed by the ops.
    std::string_view encoded() const { return encoded_; }

private:
    std::string encoded_;
    std::uint32_t op_count_ = 0;
};

// Calls `visit` for every op of an encoded batch. Errc::corruption (naming `where`) if the bytes do not decode
// exactly; `visit` may already have seen some ops then, so callers that need all-or-nothing validate first with a
// no-op visitor.
Status decode_batch(std::string_view encoded, std::string_view where, const std::function<void(const MetaOp&)>& visit);

// Validates the whole batch first, then applies it to `state`: all ops or none.
Status apply_batch(std::string_view encoded, std::string_view where, MetaMap& state);

}  // namespace tiercel::pool
