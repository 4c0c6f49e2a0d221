// Contract: POSIX ACLs stored as the xattrs system.posix_acl_access / system.posix_acl_default, in the kernel's
// binary xattr form (u32 version 2, then 8-byte entries: u16 tag, u16 perm, u32 id; little-endian). The kernel
// enforces them (FUSE_CAP_POSIX_ACL); the filesystem keeps mode and ACL consistent the way ext4 does:
// setting an access ACL sets the mode's permission bits, chmod rewrites the ACL's base entries, and a new inode under
// a directory with a default ACL inherits it (posix_acl_create semantics) instead of applying the umask.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tiercel::fs::acl {

inline constexpr std::string_view kAccessXattr = "system.posix_acl_access";
inline constexpr std::string_view kDefaultXattr = "system.posix_acl_default";

// The permission bits (0777 part) an access ACL implies; nullopt when the value is not a well-formed ACL.
std::optional<uint32_t> mode_bits(std::string_view value);
// True when the ACL holds only the user_obj, group_obj and other entries (it says nothing the mode does not).
bool is_minimal(std::string_view value);
// The access ACL with its base entries rewritten for `mode` (chmod of a file that has an ACL).
std::string with_mode(std::string_view value, uint32_t mode);
// A new inode under a directory whose default ACL is `default_acl`: narrows `mode` and returns the new inode's access
// ACL, or "" when that ACL would be equivalent to the mode.
std::string inherit(std::string_view default_acl, uint32_t& mode);

}  // namespace tiercel::fs::acl
