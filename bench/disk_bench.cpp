// disk_bench: PosixDisk against a native pwrite/pread loop on the same filesystem, in the same run.
// Usage: disk_bench [dir]   (default /tmp; needs ~2 GiB free). Prints MiB/s (or ops/s) for both and the ratio
// PosixDisk/native (1.00 = native speed, higher is better). Reads are cold: each file's pages are dropped with
// posix_fadvise(DONTNEED) after its fsync, so both sides read from the device, not the page cache.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include "tiercel/io/posix_disk.hpp"

namespace {

using tiercel::io::Bytes;
using tiercel::io::PosixDisk;
using Clock = std::chrono::steady_clock;

constexpr size_t kChunk = 1 << 20;
constexpr size_t kFileBytes = size_t{1} << 30;
constexpr int kSmallFiles = 200;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "disk_bench: %s\n", what.c_str());
    std::exit(1);
}

double seconds(const std::function<void()>& body) {
    auto start = Clock::now();
    body();
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void drop_page_cache(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fdatasync(fd) != 0 || ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
        die("cannot drop the page cache of " + path);
    ::close(fd);
}

void native_write(const std::string& path, const Bytes& chunk) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die("open " + path + ": " + std::strerror(errno));
    for (size_t offset = 0; offset < kFileBytes; offset += kChunk)
        if (::pwrite(fd, chunk.data(), kChunk, static_cast<off_t>(offset)) != static_cast<ssize_t>(kChunk))
            die("pwrite " + path);
    if (::fsync(fd) != 0)
        die("fsync " + path);
    ::close(fd);
}

void native_read(const std::string& path, Bytes& chunk) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    for (size_t offset = 0; offset < kFileBytes; offset += kChunk)
        if (::pread(fd, chunk.data(), kChunk, static_cast<off_t>(offset)) != static_cast<ssize_t>(kChunk))
            die("pread " + path);
    ::close(fd);
}

void disk_write(PosixDisk& disk, const std::string& name, const Bytes& chunk) {
    for (size_t offset = 0; offset < kFileBytes; offset += kChunk)
        if (auto status = disk.write_at(name, offset, chunk); !status.ok())
            die(status.error().describe());
    if (auto status = disk.sync_file(name); !status.ok())
        die(status.error().describe());
}

void disk_read(PosixDisk& disk, const std::string& name, Bytes& chunk) {
    for (size_t offset = 0; offset < kFileBytes; offset += kChunk) {
        auto got = disk.read_at(name, offset, chunk);
        if (!got.ok() || *got != kChunk)
            die(got.ok() ? "short read" : got.error().describe());
    }
}

// The crash-atomic replace done by hand: temp file, write, fsync, rename, fsync of the directory.
void native_atomic_replace(const std::string& dir, const std::string& name, const Bytes& data) {
    std::string temp = dir + "/.tmp.native";
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()) || ::fsync(fd) != 0)
        die("native temp write");
    ::close(fd);
    if (::rename(temp.c_str(), (dir + "/" + name).c_str()) != 0)
        die("native rename");
    int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0 || ::fsync(dir_fd) != 0)
        die("native dir fsync");
    ::close(dir_fd);
}

void report(const char* what, double disk_rate, double native_rate, const char* unit) {
    std::printf("%-34s PosixDisk %9.1f %-6s native %9.1f %-6s ratio %.2f\n", what, disk_rate, unit, native_rate, unit,
                disk_rate / native_rate);
}

}  // namespace

int main(int argc, char** argv) {
    std::string parent = argc > 1 ? argv[1] : "/tmp";
    std::string dir = parent + "/tiercel-disk-bench-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr)
        die("mkdtemp in " + parent + ": " + std::strerror(errno));
    auto opened = PosixDisk::open("bench", dir);
    if (!opened.ok())
        die(opened.error().describe());
    PosixDisk& disk = **opened;
    std::printf("directory %s, io_uring %s, %zu MiB file in %zu KiB writes\n", dir.c_str(),
                disk.uses_io_uring() ? "on" : "off (pread/pwrite fallback)", kFileBytes >> 20, kChunk >> 10);

    Bytes chunk(kChunk, std::byte{0x5a});
    const double mib = static_cast<double>(kFileBytes >> 20);
    double native_w = seconds([&] { native_write(dir + "/native", chunk); });
    double disk_w = seconds([&] { disk_write(disk, "disk", chunk); });
    report("sequential write + fsync", mib / disk_w, mib / native_w, "MiB/s");

    drop_page_cache(dir + "/native");
    drop_page_cache(dir + "/disk");
    double native_r = seconds([&] { native_read(dir + "/native", chunk); });
    double disk_r = seconds([&] { disk_read(disk, "disk", chunk); });
    report("sequential read (cold)", mib / disk_r, mib / native_r, "MiB/s");
    (void)disk.remove("native");
    (void)disk.remove("disk");

    Bytes small(4096, std::byte{0x33});
    double native_s = seconds([&] {
        for (int i = 0; i < kSmallFiles; ++i)
            native_atomic_replace(dir, "small", small);
    });
    double disk_s = seconds([&] {
        for (int i = 0; i < kSmallFiles; ++i)
            if (auto status = disk.write_file("small", small, true); !status.ok())
                die(status.error().describe());
    });
    report("4 KiB write_file(sync=true)", kSmallFiles / disk_s, kSmallFiles / native_s, "ops/s");

    (void)disk.remove("small");
    (void)disk.remove(".tmp.native");
    ::rmdir(dir.c_str());
    return 0;
}
