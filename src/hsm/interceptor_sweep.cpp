// The interceptor's bookkeeping: the recall_timeout sweep (EIO for readers whose recall made no progress), the
// recall table and the recent-recall records.
#include "file_recall.hpp"

#include "tiercel/core/log.hpp"
#include "hsm_log.hpp"

namespace tiercel::hsm {
namespace {


}  // namespace

void Interceptor::sweep() {
    sweep_timer_.expires_after(std::chrono::milliseconds(100));
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || stopping_)
            return;
        auto now = std::chrono::steady_clock::now();
        std::vector<std::shared_ptr<PendingEvent>> late;
        {
            std::lock_guard lock(mutex_);
            std::erase_if(pending_, [&](const std::weak_ptr<PendingEvent>& weak) {
                auto event = weak.lock();
                if (!event || event->answered)
                    return true;
                if (event->deadline <= now) {
                    if (auto recall = event->recall.lock(); recall && recall->filled != event->filled_seen) {
                        event->filled_seen = recall->filled;  // still moving: give it another recall_timeout
                        event->deadline = now + options_.recall_timeout;
                        return false;
                    }
                    late.push_back(event);
                    return true;
                }
                return false;
            });
        }
        for (auto& event : late)
            if (answer(*event, fan::deny_errno(EIO))) {
                std::lock_guard lock(mutex_);
                ++stats_.timed_out;
                auto recall = event->recall.lock();
                log::error(kLogComponent, "a recall made no progress for recall_timeout: the reader (tid " +
                                          std::to_string(event->tid) + ", range " + std::to_string(event->offset) +
                                          "+" + std::to_string(event->count) + ") got EIO; " +
                                          (recall ? recall->path + ", " + std::to_string(recall->filled.load()) +
                                                        " bytes filled"
                                                  : std::string("its recall had not started")));
            }
        sweep();
    });
}

void Interceptor::forget(const FileRecall& recall) {
    std::lock_guard lock(mutex_);
    auto it = recalls_.find({recall.dev, recall.ino});
    if (it != recalls_.end() && it->second.get() == &recall)
        recalls_.erase(it);
}

void Interceptor::record(RecallRecord record) {
    std::lock_guard lock(mutex_);
    recent_.push_front(std::move(record));
    if (recent_.size() > 50)
        recent_.pop_back();
}

InterceptorStats Interceptor::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

std::vector<RecallRecord> Interceptor::recent() const {
    std::lock_guard lock(mutex_);
    return {recent_.begin(), recent_.end()};
}

}  // namespace tiercel::hsm
