// Contract: which whole block devices hold a path's data, found through /sys.
// From the path's st_dev, /sys/dev/block/MAJ:MIN is followed to the device; a partition leads to its parent disk,
// and device-mapper (LVM, LUKS) and md (software RAID) devices lead through slaves/ to every member, recursively,
// down to whole disks ("/dev/sda", "/dev/nvme0n1"). A path on a filesystem without a block device (tmpfs, overlay,
// NFS, FUSE) gives an empty list and a reason: "no SMART data", never an error that stops the poller.
// Loop devices resolve to their backing file's disk when /sys names it (loop/backing_file).
#pragma once

#include <string>
#include <vector>

namespace tiercel::health {

struct BlockDevices {
    std::vector<std::string> disks;  // "/dev/sda", ... (sorted, unique); empty: see reason
    std::string reason;              // why none was found
};

BlockDevices discover_block_devices(const std::string& path, const std::string& sys_root = "/sys");

// The same walk from a device number (tests drive it with a fake /sys tree).
BlockDevices discover_from_devnum(unsigned major, unsigned minor, const std::string& sys_root = "/sys");

}  // namespace tiercel::health
