// Contract: the fanotify constants and records Tiercel needs that Debian 12's <linux/fanotify.h> predates.
// Values are those of the kernel's include/uapi/linux/fanotify.h (Linux 6.14+; verified against the header and the
// fanotify(7) man page): a wrong value here fails silently, so each one is also checked by tests/unit/hsm.
#pragma once

#include <cstdint>

#include <linux/fanotify.h>

namespace tiercel::hsm::fan {

// Pre-content access hook: delivered before a read or write of a file range (and at mmap time for the mapped
// range) while the accessing task waits; needs a FAN_CLASS_PRE_CONTENT group.
inline constexpr uint64_t pre_access = 0x00100000;
inline constexpr unsigned class_pre_content = 0x00000008;  // FAN_CLASS_PRE_CONTENT
inline constexpr uint8_t info_type_range = 6;               // FAN_EVENT_INFO_TYPE_RANGE
inline constexpr uint32_t allow = 0x01;                     // FAN_ALLOW
inline constexpr uint32_t deny = 0x02;                      // FAN_DENY
inline constexpr unsigned errno_shift = 32 - 8;             // FAN_ERRNO_SHIFT (FAN_ERRNO_BITS = 8)

// FAN_DENY_ERRNO(err): deny, and make the blocked syscall fail with `err` instead of EPERM.
constexpr uint32_t deny_errno(int err) { return deny | ((static_cast<uint32_t>(err) & 0xffu) << errno_shift); }

// struct fanotify_event_info_range (FAN_EVENT_INFO_TYPE_RANGE record after the event metadata).
struct EventInfoRange {
    fanotify_event_info_header hdr;
    uint32_t pad;
    uint64_t offset;
    uint64_t count;
};
static_assert(sizeof(EventInfoRange) == 24);

}  // namespace tiercel::hsm::fan
