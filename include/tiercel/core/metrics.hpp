// Contract: a process-wide registry of Prometheus metrics that every module adds to.
// Counters and gauges are cheap atomics, safe from any thread; a metric handle stays valid for the registry's life.
// Families follow Prometheus naming (tiercel_ prefix, unit suffixes, _total on counters). Collectors registered with
// add_collector() are called at scrape time for values that are cheaper to compute on demand (uptime, disk usage).
// render() produces the text exposition format 0.0.4.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace tiercel {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
public:
    void inc(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
    uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> value_{0};
};

class Gauge {
public:
    void set(double value) { value_.store(value, std::memory_order_relaxed); }
    double value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0};
};

// What a collector writes at scrape time.
struct MetricSample {
    std::string name;
    std::string help;
    std::string type;  // "gauge" or "counter"
    MetricLabels labels;
    double value = 0;
};

class MetricsRegistry {
public:
    Counter& counter(const std::string& name, const std::string& help, const MetricLabels& labels = {});
    Gauge& gauge(const std::string& name, const std::string& help, const MetricLabels& labels = {});
    void add_collector(std::function<void(std::vector<MetricSample>&)> collector);

    std::string render() const;

private:
    struct Family {
        std::string help;
        std::string type;
        std::map<std::string, std::unique_ptr<Counter>> counters;  // keyed by rendered label set
        std::map<std::string, std::unique_ptr<Gauge>> gauges;
    };
    mutable std::mutex mutex_;
    std::map<std::string, Family> families_;
    std::vector<std::function<void(std::vector<MetricSample>&)>> collectors_;
};

// Renders {a="1",b="2"} with Prometheus escaping; "" for no labels.
std::string render_metric_labels(const MetricLabels& labels);

}  // namespace tiercel
