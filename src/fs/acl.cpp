#include "tiercel/fs/acl.hpp"

#include <vector>

namespace tiercel::fs::acl {
namespace {

constexpr uint32_t kVersion = 2;
constexpr uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kGroup = 0x08, kMask = 0x10, kOther = 0x20;

struct Entry {
    uint16_t tag = 0;
    uint16_t perm = 0;
    uint32_t id = 0;
};

uint32_t get_le(std::string_view in, size_t at, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i)
        v |= static_cast<uint32_t>(static_cast<uint8_t>(in[at + i])) << (8 * i);
    return v;
}

void put_le(std::string& out, uint32_t v, int n) {
    for (int i = 0; i < n; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::optional<std::vector<Entry>> parse(std::string_view value) {
    if (value.size() < 4 || (value.size() - 4) % 8 != 0 || get_le(value, 0, 4) != kVersion)
        return std::nullopt;
    std::vector<Entry> entries;
    for (size_t at = 4; at < value.size(); at += 8)
        entries.push_back({static_cast<uint16_t>(get_le(value, at, 2)), static_cast<uint16_t>(get_le(value, at + 2, 2)),
                           get_le(value, at + 4, 4)});
    return entries;
}

std::string serialise(const std::vector<Entry>& entries) {
    std::string out;
    put_le(out, kVersion, 4);
    for (const auto& e : entries) {
        put_le(out, e.tag, 2);
        put_le(out, e.perm, 2);
        put_le(out, e.id, 4);
    }
    return out;
}

Entry* find(std::vector<Entry>& entries, uint16_t tag) {
    for (auto& e : entries)
        if (e.tag == tag)
            return &e;
    return nullptr;
}

}  // namespace

std::optional<uint32_t> mode_bits(std::string_view value) {
    auto entries = parse(value);
    if (!entries)
        return std::nullopt;
    Entry* user = find(*entries, kUserObj);
    Entry* group = find(*entries, kGroupObj);
    Entry* other = find(*entries, kOther);
    Entry* mask = find(*entries, kMask);
    if (!user || !group || !other)
        return std::nullopt;
    uint32_t group_bits = (mask ? mask->perm : group->perm) & 7u;
    return ((user->perm & 7u) << 6) | (group_bits << 3) | (other->perm & 7u);
}

bool is_minimal(std::string_view value) {
    auto entries = parse(value);
    if (!entries)
        return false;
    for (const auto& e : *entries)
        if (e.tag == kUser || e.tag == kGroup || e.tag == kMask)
            return false;
    return true;
}

std::string with_mode(std::string_view value, uint32_t mode) {
    auto entries = parse(value);
    if (!entries)
        return std::string(value);
    if (Entry* user = find(*entries, kUserObj))
        user->perm = static_cast<uint16_t>((mode >> 6) & 7u);
    Entry* mask = find(*entries, kMask);
    Entry* group = mask ? mask : find(*entries, kGroupObj);
    if (group)
        group->perm = static_cast<uint16_t>((mode >> 3) & 7u);
    if (Entry* other = find(*entries, kOther))
        other->perm = static_cast<uint16_t>(mode & 7u);
    return serialise(*entries);
}

std::string inherit(std::string_view default_acl, uint32_t& mode) {
    auto entries = parse(default_acl);
    if (!entries)
        return {};
    bool equivalent = true;
    Entry* group_obj = nullptr;
    Entry* mask = nullptr;
    for (auto& e : *entries) {
        switch (e.tag) {
        case kUserObj:
            e.perm &= static_cast<uint16_t>((mode >> 6) & 7u);
            mode &= (static_cast<uint32_t>(e.perm) << 6) | ~0700u;
            break;
        case kUser:
        case kGroup: equivalent = false; break;
        case kGroupObj: group_obj = &e; break;
        case kOther:
            e.perm &= static_cast<uint16_t>(mode & 7u);
            mode &= static_cast<uint32_t>(e.perm) | ~07u;
            break;
        case kMask:
            mask = &e;
            equivalent = false;
            break;
        default: break;
        }
    }
    if (Entry* g = mask ? mask : group_obj) {
        g->perm &= static_cast<uint16_t>((mode >> 3) & 7u);
        mode &= (static_cast<uint32_t>(g->perm) << 3) | ~070u;
    }
    return equivalent ? std::string() : serialise(*entries);
}

}  // namespace tiercel::fs::acl
