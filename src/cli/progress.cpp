#include "tiercel/cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "tiercel/core/units.hpp"

namespace tiercel::cli {

Progress::Progress(std::string operation, uint64_t total_bytes, bool json)
    : operation_(std::move(operation)),
      total_(total_bytes),
      json_(json),
      terminal_(::isatty(STDERR_FILENO) == 1),
      started_(std::chrono::steady_clock::now()),
      last_draw_(started_) {}

Progress::~Progress() { finish(); }

void Progress::advance(uint64_t bytes) {
    done_ += bytes;
    auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ >= std::chrono::milliseconds(250)) {
        last_draw_ = now;
        draw(false);
    }
}

void Progress::finish() {
    if (finished_)
        return;
    finished_ = true;
    draw(true);
}

void Progress::draw(bool final_line) {
    if (!json_ && !terminal_)
        return;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0;
    double eta = rate > 0 && total_ > done_ ? static_cast<double>(total_ - done_) / rate : 0;
    if (json_) {
        nlohmann::json line = {{"op", operation_}, {"done_bytes", done_}, {"total_bytes", total_},
                               {"rate_bytes_per_s", static_cast<uint64_t>(rate)}, {"eta_s", eta},
                               {"finished", final_line}};
        std::fprintf(stderr, "%s\n", line.dump().c_str());
        return;
    }
    constexpr int kWidth = 24;
    double fraction = total_ ? std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_)) : 1.0;
    int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '#');
    bar.append(kWidth - filled, '.');
    std::fprintf(stderr, "\r%s [%s] %3d%% %s / %s  %s/s  ETA %s   ", operation_.c_str(), bar.c_str(),
                 static_cast<int>(fraction * 100), format_size(done_).c_str(), format_size(total_).c_str(),
                 format_size(static_cast<uint64_t>(rate)).c_str(),
                 format_duration(std::chrono::milliseconds(static_cast<int64_t>(eta * 1000))).c_str());
    if (final_line)
        std::fprintf(stderr, "\n");
}

}  // namespace tiercel::cli
