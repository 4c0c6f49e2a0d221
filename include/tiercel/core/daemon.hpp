// Contract: the one process-wide core. It owns the core loop (one boost::asio::io_context on the io_uring backend,
// run by one thread), a CPU thread pool for heavy work (erasure coding, compression, hashing), the metrics registry
// and the services. run() starts the services in order, sends READY=1 to systemd, and runs the loop until a stop is
// requested (SIGTERM, SIGINT or request_stop()); services then stop in reverse order, and if the loop has not drained
// within config.shutdown_timeout the remaining work is abandoned and run() returns 1. SIGHUP re-reads the config
// file: a valid one is handed to every service's reload(), an invalid one is logged and ignored.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "tiercel/core/config.hpp"
#include "tiercel/core/metrics.hpp"
#include "tiercel/core/service.hpp"

namespace tiercel {

class Daemon {
public:
    explicit Daemon(Config config);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    boost::asio::io_context& loop() { return loop_; }
    boost::asio::thread_pool& cpu_pool() { return cpu_pool_; }
    MetricsRegistry& metrics() { return metrics_; }
    const Config& config() const { return config_; }
    std::chrono::steady_clock::time_point started_at() const { return started_at_; }

    void add_service(std::unique_ptr<Service> service);

    // Returns the process exit code: 0 after a clean stop, 1 when a service failed to start or shutdown timed out.
    int run();
    // Safe from any thread.
    void request_stop(const std::string& reason);
    // Re-reads the config file (SIGHUP, or POST /api/v1/config/reload). Loop thread only. An invalid file is
    // rejected with its problems and the running config stays.
    Status reload_config();

private:
    void watch_signals();
    void begin_shutdown(const std::string& reason);
    void watch_loop_lag();
    void register_core_metrics();

    Config config_;
    boost::asio::io_context loop_;
    boost::asio::thread_pool cpu_pool_;
    MetricsRegistry metrics_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer lag_timer_;
    std::vector<std::unique_ptr<Service>> services_;
    std::chrono::steady_clock::time_point started_at_;
    bool stopping_ = false;
    std::atomic<bool> shutdown_timed_out_{false};
    std::thread shutdown_watchdog_;
    std::mutex watchdog_mutex_;
    std::condition_variable watchdog_cv_;
    bool loop_finished_ = false;
    Gauge* loop_lag_ = nullptr;
};

}  // namespace tiercel
