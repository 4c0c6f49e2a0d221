// Contract: run_parallel(n, fn) calls fn(0) .. fn(n-1) concurrently (fn(0) on the calling thread) and returns when all
// have returned. Used to write and fsync every metadata replica at once, so a commit costs one disk latency, not R.
// fn must not throw.
#pragma once

#include <cstddef>
#include <thread>
#include <vector>

namespace tiercel::pool::meta {

template <typename Fn>
void run_parallel(std::size_t n, const Fn& fn) {
    std::vector<std::thread> helpers;
    helpers.reserve(n > 0 ? n - 1 : 0);
    for (std::size_t i = 1; i < n; ++i)
        helpers.emplace_back([&fn, i] { fn(i); });
    if (n > 0)
        fn(0);
    for (auto& helper : helpers)
        helper.join();
}

}  // namespace tiercel::pool::meta
