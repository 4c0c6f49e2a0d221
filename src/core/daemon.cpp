#include "tiercel/core/daemon.hpp"

#include <systemd/sd-daemon.h>

#include <csignal>
#include <thread>

#include <boost/asio/post.hpp>

#include "tiercel/core/log.hpp"

namespace tiercel {
namespace {

constexpr auto kLagProbeInterval = std::chrono::milliseconds(250);

unsigned cpu_pool_size() {
    unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 2 : cores;
}

}  // namespace

Daemon::Daemon(Config config)
    : config_(std::move(config)),
      loop_(1),  // one thread runs the loop: lets Asio skip internal locking
      cpu_pool_(cpu_pool_size()),
      signals_(loop_),
      lag_timer_(loop_),
      started_at_(std::chrono::steady_clock::now()) {
    register_core_metrics();
}

Daemon::~Daemon() {
    cpu_pool_.join();
}

void Daemon::register_core_metrics() {
    loop_lag_ = &metrics_.gauge("tiercel_event_loop_lag_seconds",
                                "How late the last periodic probe timer fired on the core loop.");
    metrics_.add_collector([this](std::vector<MetricSample>& out) {
        double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
        out.push_back({"tiercel_uptime_seconds", "Seconds since the daemon started.", "gauge", {}, uptime});
        out.push_back({"tiercel_build_info", "Build information; the value is always 1.", "gauge",
                       {{"version", TIERCEL_VERSION}}, 1});
    });
}

void Daemon::add_service(std::unique_ptr<Service> service) { services_.push_back(std::move(service)); }

int Daemon::run() {
    watch_signals();
    watch_loop_lag();
    int exit_code = 0;
    // Services start on the loop thread so they can create their Asio objects without locking.
    boost::asio::post(loop_, [this, &exit_code] {
        for (auto& service : services_) {
            if (Status status = service->start(); !status) {
                log::error("daemon", "cannot start " + std::string(service->name()) + ": " + status.error().describe());
                exit_code = 1;
                begin_shutdown("a service failed to start");
                return;
            }
            log::info("daemon", "started " + std::string(service->name()));
        }
        ::sd_notify(0, "READY=1\nSTATUS=serving");
        log::notice("daemon", "ready (tiercel " TIERCEL_VERSION ")");
    });
    loop_.run();
    {
        std::lock_guard lock(watchdog_mutex_);
        loop_finished_ = true;
    }
    watchdog_cv_.notify_all();
    if (shutdown_watchdog_.joinable())
        shutdown_watchdog_.join();
    if (shutdown_timed_out_)
        exit_code = 1;
    log::notice("daemon", exit_code == 0 ? "stopped cleanly" : "stopped with errors");
    return exit_code;
}

void Daemon::request_stop(const std::string& reason) {
    boost::asio::post(loop_, [this, reason] { begin_shutdown(reason); });
}

void Daemon::watch_signals() {
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.add(SIGHUP);
    signals_.async_wait([this](const boost::system::error_code& ec, int signal_number) {
        if (ec)
            return;
        if (signal_number == SIGHUP) {
            (void)reload_config();  // a rejected file is logged; the running config stays
            watch_signals();
            return;
        }
        begin_shutdown(signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
    });
}

void Daemon::begin_shutdown(const std::string& reason) {
    if (stopping_)
        return;
    stopping_ = true;
    log::notice("daemon", "shutting down (" + reason + ")");
    ::sd_notify(0, "STOPPING=1");
    signals_.cancel();
    lag_timer_.cancel();
    for (auto it = services_.rbegin(); it != services_.rend(); ++it)
        (*it)->stop();
    // The deadline runs on its own thread: a timer on the loop would itself keep the loop alive.
    shutdown_watchdog_ = std::thread([this] {
        std::unique_lock lock(watchdog_mutex_);
        if (watchdog_cv_.wait_for(lock, config_.shutdown_timeout, [this] { return loop_finished_; }))
            return;
        log::warning("daemon", "shutdown deadline passed; abandoning unfinished work");
        shutdown_timed_out_ = true;
        loop_.stop();
    });
}

Status Daemon::reload_config() {
    log::notice("daemon", "reloading " + config_.source_path);
    ::sd_notify(0, "RELOADING=1");
    auto loaded = load_config(config_.source_path);
    if (!loaded) {
        log::error("daemon", "reload rejected, keeping the running config:\n" + loaded.error().message());
        ::sd_notify(0, "READY=1");
        return loaded.error();
    }
    for (auto& service : services_)
        if (Status status = service->reload(*loaded); !status)
            log::error("daemon", "reload of " + std::string(service->name()) + " failed: " + status.error().describe());
    if (auto level = log::parse_level(loaded->log_level))
        log::set_threshold(*level);
    config_ = std::move(*loaded);
    ::sd_notify(0, "READY=1");
    log::notice("daemon", "configuration reloaded");
    return {};
}

void Daemon::watch_loop_lag() {
    auto expected = std::chrono::steady_clock::now() + kLagProbeInterval;
    lag_timer_.expires_at(expected);
    lag_timer_.async_wait([this, expected](const boost::system::error_code& ec) {
        // cancel() in begin_shutdown() misses a wait that already completed and sits in the loop's queue: without
        // the stopping_ check that handler re-arms the probe and keeps the loop alive until the shutdown deadline.
        if (ec || stopping_)
            return;
        loop_lag_->set(std::chrono::duration<double>(std::chrono::steady_clock::now() - expected).count());
        watch_loop_lag();
    });
}

}  // namespace tiercel
