// Contract: one disk's SMART data as smartctl reports it (`smartctl --json -a DEVICE`), for ATA (incl. SATA behind
// SAT), NVMe and SCSI/SAS drives.
//  - parse_smartctl_json() never fails: output that cannot be used (smartctl could not open the device, the JSON is
//    broken, the drive reports nothing) gives status `unknown` with a reason. "No SMART data" is never read as
//    healthy nor as failing.
//  - `status` is the drive's own overall verdict (smart_status.passed); a drive that reports attributes but no
//    verdict is `unknown` with has_data() true, so its counters still count in the risk model.
//  - Counter-like ATA raw values are read from the leading number of raw.string ("2111 (12437 0)" -> 2111), because
//    some vendors pack several fields into raw.value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tiercel::health {

enum class SmartStatus { passed, failed, unknown };
std::string_view to_string(SmartStatus status);

struct SmartAttribute {
    int id = 0;
    std::string name;
    int64_t value = 0;
    int64_t worst = 0;
    int64_t thresh = 0;
    uint64_t raw = 0;        // the counter: the leading number of raw.string (see above)
    std::string raw_string;  // as smartctl prints it
    bool failing_now = false;  // when_failed == "now": the normalised value is at or below its threshold
};

struct NvmeHealth {
    uint64_t critical_warning = 0;
    uint64_t media_errors = 0;
    uint64_t percentage_used = 0;
    uint64_t available_spare = 100;
    uint64_t available_spare_threshold = 0;
    uint64_t unsafe_shutdowns = 0;
};

struct ScsiHealth {
    std::optional<uint64_t> grown_defects;
    uint64_t uncorrected_read_errors = 0;
    uint64_t uncorrected_write_errors = 0;
};

struct SmartReport {
    SmartStatus status = SmartStatus::unknown;
    std::string reason;    // why status is unknown ("smartctl could not open /dev/sda: ...")
    std::string device;    // the device that was asked
    std::string protocol;  // "ATA", "NVMe", "SCSI" or "" when unknown
    std::string model;
    std::string serial;
    std::optional<int64_t> temperature_c;
    std::optional<int64_t> power_on_hours;
    std::vector<SmartAttribute> attributes;  // ATA only
    std::optional<NvmeHealth> nvme;
    std::optional<ScsiHealth> scsi;
    int exit_status = 0;  // smartctl's exit status bits

    bool has_data() const { return !attributes.empty() || nvme.has_value() || scsi.has_value(); }
    const SmartAttribute* attribute(int id) const;
};

// `exit_status` is the process's exit status when known (the JSON's smartctl.exit_status wins when present).
SmartReport parse_smartctl_json(std::string_view json_text, std::string_view device, int exit_status = 0);

// A report for a device that could not be asked at all (no block device, smartctl missing, timeout).
SmartReport no_smart_data(std::string_view device, std::string reason);

}  // namespace tiercel::health
