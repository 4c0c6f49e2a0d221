#include "tiercel/pool/task_pool.hpp"

#include <pthread.h>

namespace tiercel::pool {

TaskPool::TaskPool(std::string name, unsigned threads) : name_(std::move(name)) {
    for (unsigned i = 0; i < threads; ++i) {
        threads_.emplace_back([this] { run(); });
        // Thread names show up in top and gdb: "tc-disk3", "tc-stripe".
        pthread_setname_np(threads_.back().native_handle(), ("tc-" + name_).substr(0, 15).c_str());
    }
}

TaskPool::~TaskPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    ready_.notify_all();
    for (auto& thread : threads_)
        thread.join();
}

size_t TaskPool::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

void TaskPool::enqueue(std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(task));
    }
    ready_.notify_one();
}

void TaskPool::run() {
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty())
                return;
            task = std::move(queue_.front());
            queue_.pop_front();
        }
        task();
    }
}

}  // namespace tiercel::pool
