// The `dir` cold target: payload objects are plain files below a directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "tiercel/hsm/target.hpp"

namespace tiercel::hsm {
namespace {

class DirWriter final : public ObjectWriter {
public:
    DirWriter(int fd, std::string part, std::string final_path)
        : fd_(fd), part_(std::move(part)), final_(std::move(final_path)) {}
    ~DirWriter() override {
        if (fd_ >= 0) {
            ::close(fd_);
            ::unlink(part_.c_str());
        }
    }
    Status write(std::span<const uint8_t> bytes) override {
        size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return Error::from_errno(errno, "writing " + part_);
            done += static_cast<size_t>(n);
        }
        return {};
    }
    Status commit() override {
        if (::fsync(fd_) != 0)
            return Error::from_errno(errno, "fsync " + part_);
        ::close(fd_);
        fd_ = -1;
        if (::rename(part_.c_str(), final_.c_str()) != 0)
            return Error::from_errno(errno, "renaming " + part_);
        int dir = ::open(std::filesystem::path(final_).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir >= 0) {
            ::fsync(dir);
            ::close(dir);
        }
        return {};
    }

private:
    int fd_;
    std::string part_, final_;
};

class DirSource final : public ByteSource {
public:
    DirSource(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {
        // A recall reads the payload front to back (several threads, frame after frame): a larger readahead
        // window when it is not cached. Advice only; failure changes nothing.
        (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    ~DirSource() override { ::close(fd_); }
    uint64_t size() const override { return size_; }
    Status read_at(uint64_t offset, std::span<uint8_t> out) override {
        size_t done = 0;
        while (done < out.size()) {
            ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return Error::from_errno(errno, "reading " + path_);
            if (n == 0)
                return make_error(Errc::corruption, path_ + " is shorter than expected");
            done += static_cast<size_t>(n);
        }
        return {};
    }

private:
    int fd_;
    uint64_t size_;
    std::string path_;
};

class DirTarget final : public Target {
public:
    DirTarget(std::string name, std::string path) : name_(std::move(name)), root_(std::move(path)) {}
    const std::string& name() const override { return name_; }
    std::string describe() const override { return "dir " + root_; }

    Result<std::unique_ptr<ObjectWriter>> create(const std::string& key) override {
        auto final_path = root_ + "/" + key;
        std::error_code ec;
        struct stat root_stat {};
        if (::stat(root_.c_str(), &root_stat) != 0)
            return Error::from_errno(errno, "target " + name_ + ": " + root_);
        std::filesystem::create_directories(std::filesystem::path(final_path).parent_path(), ec);
        if (ec)
            return make_error(Errc::io_error, "target " + name_ + ": creating " + final_path + ": " + ec.message());
        auto part = final_path + ".part";
        int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
            return Error::from_errno(errno, "target " + name_ + ": creating " + part);
        return std::unique_ptr<ObjectWriter>(new DirWriter(fd, part, final_path));
    }

    Result<std::unique_ptr<ByteSource>> open(const std::string& key) override {
        auto path = root_ + "/" + key;
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return Error::from_errno(errno, "target " + name_ + ": " + path);
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            int err = errno;
            ::close(fd);
            return Error::from_errno(err, "target " + name_ + ": " + path);
        }
        return std::unique_ptr<ByteSource>(new DirSource(fd, static_cast<uint64_t>(st.st_size), path));
    }

    Status remove(const std::string& key) override {
        auto path = root_ + "/" + key;
        if (::unlink(path.c_str()) != 0 && errno != ENOENT)
            return Error::from_errno(errno, "target " + name_ + ": removing " + path);
        return {};
    }

    Result<std::vector<std::string>> list() override {
        std::vector<std::string> keys;
        std::error_code ec;
        auto base = std::filesystem::path(root_) / "tiercel-hsm";
        if (!std::filesystem::exists(base, ec))
            return keys;
        for (auto it = std::filesystem::recursive_directory_iterator(base, ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
            if (it->is_regular_file() && it->path().extension() == ".zst")
                keys.push_back(std::filesystem::relative(it->path(), root_).string());
        }
        if (ec)
            return make_error(Errc::io_error, "target " + name_ + ": listing " + base.string() + ": " + ec.message());
        return keys;
    }

private:
    std::string name_, root_;
};

}  // namespace

std::unique_ptr<Target> make_dir_target(const std::string& name, const std::string& path) {
    return std::make_unique<DirTarget>(name, path);
}

std::string payload_key(int64_t file_id, int64_t version) {
    char shard[8];
    std::snprintf(shard, sizeof shard, "%02x", static_cast<unsigned>(file_id % 256));
    return "tiercel-hsm/" + std::string(shard) + "/" + std::to_string(file_id) + "-v" + std::to_string(version) + ".zst";
}

}  // namespace tiercel::hsm
