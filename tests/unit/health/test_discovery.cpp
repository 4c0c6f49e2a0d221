// Block-device discovery through a fake /sys tree: partitions, device-mapper over md, and no block device at all.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "../support/temp_dir.hpp"
#include "tiercel/health/discovery.hpp"

using namespace tiercel::health;
namespace fs = std::filesystem;

namespace {

// Builds sys/devices/... directories and the sys/dev/block/MAJ:MIN symlinks the kernel would show.
struct FakeSys {
    explicit FakeSys(std::string sys_root) : root(std::move(sys_root)) {}
    std::string root;

    fs::path device(const std::string& relative) {
        fs::path dir = fs::path(root) / "devices" / relative;
        fs::create_directories(dir);
        return dir;
    }
    void number(const std::string& devnum, const fs::path& dir) {
        fs::create_directories(fs::path(root) / "dev" / "block");
        fs::create_symlink(dir, fs::path(root) / "dev" / "block" / devnum);
    }
    void slave(const fs::path& holder, const fs::path& member) {
        fs::create_directories(holder / "slaves");
        fs::create_symlink(member, holder / "slaves" / member.filename());
    }
};

}  // namespace

TEST_CASE("a partition leads to its whole disk") {
    tiercel::testing::TempDir tmp("tiercel-sys");
    FakeSys sys(tmp.path());
    fs::path sda = sys.device("pci0000:00/ata1/block/sda");
    fs::path sda1 = sys.device("pci0000:00/ata1/block/sda/sda1");
    std::ofstream(sda1 / "partition") << "1\n";
    sys.number("8:1", sda1);
    sys.number("8:0", sda);
    auto found = discover_from_devnum(8, 1, tmp.path());
    REQUIRE(found.disks.size() == 1);
    CHECK(found.disks[0] == "/dev/sda");
    CHECK(discover_from_devnum(8, 0, tmp.path()).disks == std::vector<std::string>{"/dev/sda"});
}

TEST_CASE("LVM over md RAID1 over two partitions leads to both disks") {
    tiercel::testing::TempDir tmp("tiercel-sys");
    FakeSys sys(tmp.path());
    fs::path sdb1 = sys.device("pci/block/sdb/sdb1");
    fs::path nvme = sys.device("pci/nvme/nvme0/nvme0n1");
    fs::path nvme_p1 = sys.device("pci/nvme/nvme0/nvme0n1/nvme0n1p1");
    std::ofstream(sdb1 / "partition") << "1\n";
    std::ofstream(nvme_p1 / "partition") << "1\n";
    fs::path md0 = sys.device("virtual/block/md0");
    sys.slave(md0, sdb1);
    sys.slave(md0, nvme_p1);
    fs::path dm = sys.device("virtual/block/dm-0");
    sys.slave(dm, md0);
    sys.number("253:0", dm);
    auto found = discover_from_devnum(253, 0, tmp.path());
    CHECK(found.disks == std::vector<std::string>{"/dev/nvme0n1", "/dev/sdb"});
    CHECK(found.reason.empty());
    (void)nvme;
}

TEST_CASE("tmpfs, overlay and unknown devices give no device and a reason") {
    tiercel::testing::TempDir tmp("tiercel-sys");
    auto none = discover_from_devnum(0, 42, tmp.path());
    CHECK(none.disks.empty());
    CHECK(none.reason.find("not a block device") != std::string::npos);
    auto missing = discover_from_devnum(8, 99, tmp.path());
    CHECK(missing.disks.empty());
    CHECK(missing.reason.find("no block device 8:99") != std::string::npos);
    auto shm = discover_block_devices("/dev/shm");
    CHECK(shm.disks.empty());
    CHECK_FALSE(shm.reason.empty());
    auto absent = discover_block_devices("/nonexistent/path");
    CHECK(absent.reason.find("cannot stat") != std::string::npos);
}
