// Reading `smartctl --json -a` output (smartmontools' JSON schema) into a SmartReport.
#include <cctype>

#include <nlohmann/json.hpp>

#include "tiercel/health/smart.hpp"

namespace tiercel::health {
namespace {

using nlohmann::json;

// smartctl exit status bits (smartctl(8), RETURN VALUES).
constexpr int kBitCommandLine = 1 << 0;
constexpr int kBitOpenFailed = 1 << 1;

template <typename T>
std::optional<T> number_at(const json& object, std::string_view key) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_number())
        return std::nullopt;
    return it->get<T>();
}

std::string string_at(const json& object, std::string_view key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint64_t leading_number(const std::string& text, uint64_t fallback) {
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text.front())))
        return fallback;
    uint64_t value = 0;
    for (char c : text) {
        if (!std::isdigit(static_cast<unsigned char>(c)))
            break;
        value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    return value;
}

std::string first_error_message(const json& root) {
    auto smartctl = root.find("smartctl");
    if (smartctl == root.end() || !smartctl->is_object())
        return {};
    auto messages = smartctl->find("messages");
    if (messages == smartctl->end() || !messages->is_array())
        return {};
    for (const auto& message : *messages)
        if (message.is_object() && string_at(message, "severity") == "error")
            return string_at(message, "string");
    return messages->empty() || !messages->front().is_object() ? std::string()
                                                               : string_at(messages->front(), "string");
}

void read_ata(const json& root, SmartReport& report) {
    auto table = root.find("ata_smart_attributes");
    if (table == root.end() || !table->is_object() || !table->contains("table") || !(*table)["table"].is_array())
        return;
    for (const auto& row : (*table)["table"]) {
        if (!row.is_object())
            continue;
        SmartAttribute attribute;
        attribute.id = number_at<int>(row, "id").value_or(0);
        attribute.name = string_at(row, "name");
        attribute.value = number_at<int64_t>(row, "value").value_or(0);
        attribute.worst = number_at<int64_t>(row, "worst").value_or(0);
        attribute.thresh = number_at<int64_t>(row, "thresh").value_or(0);
        attribute.failing_now = string_at(row, "when_failed") == "now";
        if (auto raw = row.find("raw"); raw != row.end() && raw->is_object()) {
            attribute.raw_string = string_at(*raw, "string");
            attribute.raw = leading_number(attribute.raw_string, number_at<uint64_t>(*raw, "value").value_or(0));
        }
        if (attribute.id > 0)
            report.attributes.push_back(std::move(attribute));
    }
}

void read_nvme(const json& root, SmartReport& report) {
    auto log = root.find("nvme_smart_health_information_log");
    if (log == root.end() || !log->is_object())
        return;
    NvmeHealth nvme;
    nvme.critical_warning = number_at<uint64_t>(*log, "critical_warning").value_or(0);
    nvme.media_errors = number_at<uint64_t>(*log, "media_errors").value_or(0);
    nvme.percentage_used = number_at<uint64_t>(*log, "percentage_used").value_or(0);
    nvme.available_spare = number_at<uint64_t>(*log, "available_spare").value_or(100);
    nvme.available_spare_threshold = number_at<uint64_t>(*log, "available_spare_threshold").value_or(0);
    nvme.unsafe_shutdowns = number_at<uint64_t>(*log, "unsafe_shutdowns").value_or(0);
    report.nvme = nvme;
    if (!report.temperature_c)
        report.temperature_c = number_at<int64_t>(*log, "temperature");
    if (!report.power_on_hours)
        report.power_on_hours = number_at<int64_t>(*log, "power_on_hours");
}

void read_scsi(const json& root, SmartReport& report) {
    bool any = false;
    ScsiHealth scsi;
    if (auto defects = number_at<uint64_t>(root, "scsi_grown_defect_list")) {
        scsi.grown_defects = defects;
        any = true;
    }
    if (auto log = root.find("scsi_error_counter_log"); log != root.end() && log->is_object()) {
        any = true;
        for (const char* direction : {"read", "write"}) {
            auto side = log->find(direction);
            if (side == log->end() || !side->is_object())
                continue;
            uint64_t errors = number_at<uint64_t>(*side, "total_uncorrected_errors").value_or(0);
            (std::string_view(direction) == "read" ? scsi.uncorrected_read_errors : scsi.uncorrected_write_errors) =
                errors;
        }
    }
    if (any)
        report.scsi = scsi;
}

void read_identity(const json& root, SmartReport& report) {
    if (auto device = root.find("device"); device != root.end() && device->is_object())
        report.protocol = string_at(*device, "protocol");
    report.model = string_at(root, "model_name");
    if (report.model.empty())
        report.model = string_at(root, "product");
    report.serial = string_at(root, "serial_number");
    if (auto temperature = root.find("temperature"); temperature != root.end() && temperature->is_object())
        report.temperature_c = number_at<int64_t>(*temperature, "current");
    if (auto power_on = root.find("power_on_time"); power_on != root.end() && power_on->is_object())
        report.power_on_hours = number_at<int64_t>(*power_on, "hours");
}

void read_verdict(const json& root, SmartReport& report) {
    auto status = root.find("smart_status");
    if (status != root.end() && status->is_object() && status->contains("passed") && (*status)["passed"].is_boolean()) {
        report.status = (*status)["passed"].get<bool>() ? SmartStatus::passed : SmartStatus::failed;
        return;
    }
    report.status = SmartStatus::unknown;
    report.reason = report.has_data() ? "the drive reports attributes but no overall SMART status"
                                      : "smartctl reported no SMART data for " + report.device;
}

}  // namespace

std::string_view to_string(SmartStatus status) {
    switch (status) {
    case SmartStatus::passed: return "passed";
    case SmartStatus::failed: return "failed";
    case SmartStatus::unknown: break;
    }
    return "unknown";
}

const SmartAttribute* SmartReport::attribute(int id) const {
    for (const auto& attribute : attributes)
        if (attribute.id == id)
            return &attribute;
    return nullptr;
}

SmartReport no_smart_data(std::string_view device, std::string reason) {
    SmartReport report;
    report.device = std::string(device);
    report.reason = std::move(reason);
    return report;
}

SmartReport parse_smartctl_json(std::string_view json_text, std::string_view device, int exit_status) {
    json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded() || !root.is_object())
        return no_smart_data(device, "smartctl printed no valid JSON for " + std::string(device));
    SmartReport report;
    report.device = std::string(device);
    report.exit_status = exit_status;
    if (auto smartctl = root.find("smartctl"); smartctl != root.end() && smartctl->is_object())
        report.exit_status = number_at<int>(*smartctl, "exit_status").value_or(exit_status);
    if (report.exit_status & (kBitCommandLine | kBitOpenFailed)) {
        std::string message = first_error_message(root);
        return no_smart_data(device, "smartctl could not read " + std::string(device) +
                                         (message.empty() ? std::string() : ": " + message));
    }
    read_identity(root, report);
    read_ata(root, report);
    read_nvme(root, report);
    read_scsi(root, report);
    read_verdict(root, report);
    return report;
}

}  // namespace tiercel::health
