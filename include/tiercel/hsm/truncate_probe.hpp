// Contract: tells whether the task behind a FAN_PRE_ACCESS event is truncating the file, and to what size.
// Linux 6.18 reports a truncate (truncate(2), ftruncate(2), an O_TRUNC open) as an ordinary range event around the
// new end of file, indistinguishable from a read of that page; recalling into a file that is being truncated would
// resurrect the archived tail. The task is blocked in its system call while it waits for the answer, so
// /proc/<tid>/syscall names the call and its arguments. Only the calls below are recognised; for anything else
// (io_uring, openat2) the answer is "not a truncate", and the recall's own size check is the safety net.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace tiercel::hsm {

// From one /proc/<tid>/syscall line ("NR ARG1 ... ARG6 SP PC", arguments in hex): the new size when the call is
// truncate/ftruncate (its length), creat, or open/openat with O_TRUNC (0); nullopt otherwise.
std::optional<uint64_t> parse_truncating_syscall(std::string_view line);

// Reads /proc/<tid>/syscall; nullopt when it cannot be read or the call is not a truncate.
std::optional<uint64_t> pending_truncate(pid_t tid);

}  // namespace tiercel::hsm
