// Contract: a fixed set of threads running submitted tasks in FIFO order, with a future per task. The pool uses one
// per disk (so I/O to different disks runs in parallel and one slow disk delays only its own queue) and one for
// stripe jobs. Destruction finishes queued tasks first. A task must not wait on a future of its own pool (it could
// starve it); stripe jobs wait only on disk pools.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tiercel::pool {

class TaskPool {
public:
    TaskPool(std::string name, unsigned threads);
    ~TaskPool();
    TaskPool(const TaskPool&) = delete;
    TaskPool& operator=(const TaskPool&) = delete;

    template <typename F>
    auto submit(F&& task) -> std::future<decltype(task())> {
        using R = decltype(task());
        auto packaged = std::make_shared<std::packaged_task<R()>>(std::forward<F>(task));
        std::future<R> result = packaged->get_future();
        enqueue([packaged] { (*packaged)(); });
        return result;
    }

    size_t queued() const;

private:
    void enqueue(std::function<void()> task);
    void run();

    std::string name_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace tiercel::pool
