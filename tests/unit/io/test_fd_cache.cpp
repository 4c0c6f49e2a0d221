// The open-fd LRU behind PosixDisk (io/fd_cache.hpp).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include "tiercel/io/fd_cache.hpp"

namespace tiercel::io {
namespace {

OpenFilePtr open_dev_null() { return std::make_shared<OpenFile>(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST_CASE("FdCache evicts the least recently used entry") {
    FdCache cache(2);
    cache.insert("a", open_dev_null(), cache.generation());
    cache.insert("b", open_dev_null(), cache.generation());
    CHECK(cache.find("a") != nullptr);  // a is now the most recent
    cache.insert("c", open_dev_null(), cache.generation());
    CHECK(cache.find("b") == nullptr);
    CHECK(cache.find("a") != nullptr);
    CHECK(cache.find("c") != nullptr);
    CHECK(cache.size() == 2);
}

TEST_CASE("FdCache refuses an fd opened before an invalidation of any path") {
    FdCache cache(4);
    uint64_t seen = cache.generation();
    cache.invalidate("unrelated");
    cache.insert("a", open_dev_null(), seen);
    CHECK(cache.find("a") == nullptr);
}

TEST_CASE("FdCache invalidation takes a directory's files along and keeps held fds open") {
    FdCache cache(8);
    OpenFilePtr held = open_dev_null();
    cache.insert("dir/a", held, cache.generation());
    cache.insert("dir/sub/b", open_dev_null(), cache.generation());
    cache.insert("dirx", open_dev_null(), cache.generation());
    cache.invalidate("dir");
    CHECK(cache.find("dir/a") == nullptr);
    CHECK(cache.find("dir/sub/b") == nullptr);
    CHECK(cache.find("dirx") != nullptr);
    CHECK(fd_is_open(held->fd()));  // an I/O in flight keeps its fd
    int fd = held->fd();
    held.reset();
    CHECK(!fd_is_open(fd));
}

TEST_CASE("FdCache with capacity 0 caches nothing") {
    FdCache cache(0);
    cache.insert("a", open_dev_null(), cache.generation());
    CHECK(cache.find("a") == nullptr);
}

}  // namespace
}  // namespace tiercel::io
