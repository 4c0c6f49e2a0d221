#include "tiercel/pool/meta_batch.hpp"


#include "tiercel/pool/meta_endian.hpp"

namespace tiercel::pool {

// Encoding: op_count[4], then per op: kind[1] key_len[4] key [value_len[4] value] (value only for put).

MetaBatch::MetaBatch() { clear(); }

void MetaBatch::clear() {
    encoded_.assign(4, '\0');
    op_count_ = 0;
}

static void patch_count(std::string& encoded, std::uint32_t count) {
    std::string packed;
    meta::put_u32(packed, count);
    encoded.replace(0, 4, packed);
}

void MetaBatch::put(std::string_view key, std::string_view value) {
    encoded_ += static_cast<char>(MetaOpKind::put);
    meta::put_u32(encoded_, static_cast<std::uint32_t>(key.size()));
    encoded_.append(key);
    meta::put_u32(encoded_, static_cast<std::uint32_t>(value.size()));
    encoded_.append(value);
    patch_count(encoded_, ++op_count_);
}

void MetaBatch::remove(std::string_view key) {
    encoded_ += static_cast<char>(MetaOpKind::remove);
    meta::put_u32(encoded_, static_cast<std::uint32_t>(key.size()));
    encoded_.append(key);
    patch_count(encoded_, ++op_count_);
}

// Reads a length-prefixed field at `pos`; false when the length runs past the end.
static bool read_field(std::string_view in, std::size_t& pos, std::string_view& field) {
    if (in.size() - pos < 4)
        return false;
    const std::uint32_t length = meta::get_u32(in, pos);
    pos += 4;
    if (in.size() - pos < length)
        return false;
    field = in.substr(pos, length);
    pos += length;
    return true;
}

Status decode_batch(std::string_view encoded, std::string_view where,
                    const std::function<void(const MetaOp&)>& visit) {
    auto corrupt = [&](std::string_view why, std::size_t pos) {
        return make_error(Errc::corruption, std::string(where) + ": batch does not decode at byte " +
                                                std::to_string(pos) + ": " + std::string(why));
    };
    if (encoded.size() < 4)
        return corrupt("shorter than its op count", 0);
    const std::uint32_t count = meta::get_u32(encoded, 0);
    std::size_t pos = 4;
    for (std::uint32_t i = 0; i < count; ++i) {
        if (pos >= encoded.size())
            return corrupt("fewer ops than its op count", pos);
        MetaOp op;
        const auto kind = static_cast<std::uint8_t>(encoded[pos++]);
        if (kind != static_cast<std::uint8_t>(MetaOpKind::put) && kind != static_cast<std::uint8_t>(MetaOpKind::remove))
            return corrupt("unknown op kind " + std::to_string(kind), pos - 1);
        op.kind = static_cast<MetaOpKind>(kind);
        if (!read_field(encoded, pos, op.key))
            return corrupt("key overruns the batch", pos);
        if (op.kind == MetaOpKind::put && !read_field(encoded, pos, op.value))
            return corrupt("value overruns the batch", pos);
        visit(op);
    }
    if (pos != encoded.size())
        return corrupt("bytes after the last op", pos);
    return {};
}

Status apply_batch(std::string_view encoded, std::string_view where, MetaMap& state) {
    TIERCEL_TRY(decode_batch(encoded, where, [](const MetaOp&) {}));
    return decode_batch(encoded, where, [&state](const MetaOp& op) {
        if (op.kind == MetaOpKind::remove) {
            if (auto it = state.find(op.key); it != state.end())
                state.erase(it);
            return;
        }
        if (auto it = state.find(op.key); it != state.end())
            it->second.assign(op.value);
        else
            state.emplace(std::string(op.key), std::string(op.value));
    });
}

}  // namespace tiercel::pool
