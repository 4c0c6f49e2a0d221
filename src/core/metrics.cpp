#include "tiercel/core/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace tiercel {
namespace {

std::string escape_label_value(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string format_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.9g", value);
    return buffer;
}

}  // namespace

std::string render_metric_labels(const MetricLabels& labels) {
    if (labels.empty())
        return "";
    std::string out = "{";
    for (size_t i = 0; i < labels.size(); ++i) {
        if (i) out += ",";
        out += labels[i].first + "=\"" + escape_label_value(labels[i].second) + "\"";
    }
    return out + "}";
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const MetricLabels& labels) {
    std::lock_guard lock(mutex_);
    Family& family = families_[name];
    family.help = help;
    family.type = "counter";
    auto& slot = family.counters[render_metric_labels(labels)];
    if (!slot)
        slot = std::make_unique<Counter>();
    return *slot;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const MetricLabels& labels) {
    std::lock_guard lock(mutex_);
    Family& family = families_[name];
    family.help = help;
    family.type = "gauge";
    auto& slot = family.gauges[render_metric_labels(labels)];
    if (!slot)
        slot = std::make_unique<Gauge>();
    return *slot;
}

void MetricsRegistry::add_collector(std::function<void(std::vector<MetricSample>&)> collector) {
    std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::render() const {
    std::vector<MetricSample> samples;
    std::lock_guard lock(mutex_);
    for (const auto& collector : collectors_)
        collector(samples);
    // Group collected samples by name so each family gets one HELP/TYPE header.
    std::map<std::string, std::vector<const MetricSample*>> collected;
    for (const auto& sample : samples)
        collected[sample.name].push_back(&sample);

    std::ostringstream out;
    for (const auto& [name, family] : families_) {
        out << "# HELP " << name << " " << family.help << "\n# TYPE " << name << " " << family.type << "\n";
        for (const auto& [labels, value] : family.counters)
            out << name << labels << " " << value->value() << "\n";
        for (const auto& [labels, value] : family.gauges)
            out << name << labels << " " << format_value(value->value()) << "\n";
    }
    for (const auto& [name, list] : collected) {
        if (families_.count(name))
            continue;  // a collector must not shadow a registered family
        out << "# HELP " << name << " " << list.front()->help << "\n# TYPE " << name << " " << list.front()->type
            << "\n";
        for (const MetricSample* sample : list)
            out << name << render_metric_labels(sample->labels) << " " << format_value(sample->value) << "\n";
    }
    return out.str();
}

}  // namespace tiercel
