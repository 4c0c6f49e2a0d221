// Contract: the log component every HSM source file logs under, defined once so that the files can share a
// translation unit (CMake unity builds) without each redefining it.
#pragma once

#include <string_view>

namespace tiercel::hsm {

inline constexpr std::string_view kLogComponent = "hsm";

}  // namespace tiercel::hsm
