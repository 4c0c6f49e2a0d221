// Contract: running `PROGRAM --json -a DEVICE` and reading its report. Blocking: call it from a worker thread, never
// from the core loop. A program that cannot be started, exceeds `timeout` (it is killed) or prints no usable JSON
// gives a report with status unknown and the reason; `stop` (when set) aborts a run within ~100 ms.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "tiercel/health/smart.hpp"

namespace tiercel::health {

SmartReport run_smartctl(const std::string& program, const std::string& device, std::chrono::milliseconds timeout,
                         const std::atomic<bool>* stop = nullptr);

}  // namespace tiercel::health
