// The per-thread io_uring helpers (io/uring.hpp), checked against both backends on a real file.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <thread>

#include "io_test_support.hpp"
#include "tiercel/io/uring.hpp"

namespace tiercel::io {
namespace {

TEST_CASE("uring read/write helpers agree across backends, stop at EOF, and report errno") {
    test::TempDir dir;
    std::string path = dir.path() + "/f";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(uring::thread_ring_available());
    for (auto backend : {uring::Backend::io_uring, uring::Backend::plain}) {
        CAPTURE(static_cast<int>(backend));
        Bytes data = test::pattern(3 << 20, static_cast<uint64_t>(backend));
        CHECK(uring::write_full_and_sync(backend, fd, 0, data) == 0);
        CHECK(uring::write_full(backend, fd, data.size(), data) == static_cast<int64_t>(data.size()));
        Bytes back(2 * data.size() + 100);
        CHECK(uring::read_full(backend, fd, 0, back) == static_cast<int64_t>(2 * data.size()));
        CHECK(std::equal(data.begin(), data.end(), back.begin() + static_cast<std::ptrdiff_t>(data.size())));
        CHECK(uring::sync(backend, fd, true) == 0);
        CHECK(uring::read_full(backend, -1, 0, back) == -EBADF);
        CHECK(uring::write_full_and_sync(backend, -1, 0, data) == -EBADF);
    }
    ::close(fd);
}

TEST_CASE("each thread gets its own ring") {
    bool other_thread_has_ring = false;
    std::thread([&] { other_thread_has_ring = uring::thread_ring_available(); }).join();
    CHECK(other_thread_has_ring);
    CHECK(uring::pick_backend(false) == uring::Backend::plain);
    CHECK(uring::pick_backend(true) == uring::Backend::io_uring);
}

}  // namespace
}  // namespace tiercel::io
