// Contract: little-endian integer packing and the crc32c used by every metadata format unit. get_* read from a
// string_view at an offset the caller has already bounds-checked; put_* append. Independent of host byte order.
// FieldWriter/FieldReader build and parse records field by field (the pool's records, the filesystem's inodes):
// integers little-endian, byte strings as a u32 length then the bytes. A FieldReader never reads past its input:
// the first short read latches ok() false and returns zeros, so a decoder checks once, at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tiercel::pool::meta {

inline void put_u32(std::string& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i)
        out += static_cast<char>((value >> (8 * i)) & 0xff);
}

inline void put_u64(std::string& out, std::uint64_t value) {
    for (int i = 0; i < 8; ++i)
        out += static_cast<char>((value >> (8 * i)) & 0xff);
}

inline std::uint32_t get_u32(std::string_view in, std::size_t offset) {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i)
        value |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[offset + i])) << (8 * i);
    return value;
}

inline std::uint64_t get_u64(std::string_view in, std::size_t offset) {
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i)
        value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[offset + i])) << (8 * i);
    return value;
}

// Big-endian, for keys whose byte order must sort like the number.
inline std::string put_be(std::uint64_t value, int bytes) {
    std::string out(static_cast<std::size_t>(bytes), '\0');
    for (int i = 0; i < bytes; ++i)
        out[static_cast<std::size_t>(bytes - 1 - i)] = static_cast<char>((value >> (8 * i)) & 0xff);
    return out;
}

class FieldWriter {
public:
    void u8(std::uint8_t v) { fixed(v, 1); }
    void u16(std::uint16_t v) { fixed(v, 2); }
    void u32(std::uint32_t v) { fixed(v, 4); }
    void u64(std::uint64_t v) { fixed(v, 8); }
    void bytes(std::string_view v) {
        u32(static_cast<std::uint32_t>(v.size()));
        out_.append(v);
    }
    std::string take() { return std::move(out_); }

private:
    void fixed(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i)
            out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
    std::string out_;
};

class FieldReader {
public:
    explicit FieldReader(std::string_view in) : in_(in) {}
    std::uint8_t u8() { return static_cast<std::uint8_t>(fixed(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(fixed(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(fixed(4)); }
    std::uint64_t u64() { return fixed(8); }
    std::string bytes() {
        std::uint32_t n = u32();
        if (!ok_ || n > in_.size() - pos_) {
            ok_ = false;
            return {};
        }
        std::string out(in_.substr(pos_, n));
        pos_ += n;
        return out;
    }
    bool ok() const { return ok_; }
    // Every field read, and nothing left over.
    bool finished_cleanly() const { return ok_ && pos_ == in_.size(); }

private:
    std::uint64_t fixed(int n) {
        if (!ok_ || in_.size() - pos_ < static_cast<std::size_t>(n)) {
            ok_ = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = 0; i < n; ++i)
            v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + static_cast<std::size_t>(i)]))
                 << (8 * i);
        pos_ += static_cast<std::size_t>(n);
        return v;
    }
    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

// Standard CRC-32C (codec::crc32c), chained like zlib: crc_of(b, crc_of(a)) == crc_of(a ‖ b).
std::uint32_t crc_of(std::string_view bytes, std::uint32_t previous = 0);

}  // namespace tiercel::pool::meta
