// Contract: progress of a long operation, on stderr. On a terminal: one self-overwriting line with a bar, bytes done
// of total, rate and ETA, redrawn at most 4 times a second. With json=true: one JSON object per line
// ({"op","done_bytes","total_bytes","rate_bytes_per_s","eta_s"}) for scripts. Otherwise silent. finish() ends the line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tiercel::cli {

class Progress {
public:
    Progress(std::string operation, uint64_t total_bytes, bool json);
    ~Progress();
    void advance(uint64_t bytes);
    void finish();

private:
    void draw(bool final_line);

    std::string operation_;
    uint64_t total_;
    uint64_t done_ = 0;
    bool json_;
    bool terminal_;
    bool finished_ = false;
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace tiercel::cli
