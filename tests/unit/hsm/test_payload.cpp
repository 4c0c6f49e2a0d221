// The HSM payload format: round trip, range decoding, corruption detection, and the fanotify ABI values.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "tiercel/hsm/fanotify_abi.hpp"
#include "tiercel/hsm/parquet.hpp"
#include "tiercel/hsm/payload.hpp"

namespace {

using namespace tiercel;
using namespace tiercel::hsm;

struct MemorySink : ByteSink {
    std::vector<uint8_t> bytes;
    Status write(std::span<const uint8_t> data) override {
        bytes.insert(bytes.end(), data.begin(), data.end());
        return {};
    }
};

struct MemorySource : ByteSource {
    std::vector<uint8_t> bytes;
    uint64_t size() const override { return bytes.size(); }
    Status read_at(uint64_t offset, std::span<uint8_t> out) override {
        if (offset + out.size() > bytes.size())
            return make_error(Errc::corruption, "short");
        std::copy_n(bytes.begin() + static_cast<long>(offset), out.size(), out.begin());
        return {};
    }
};

// A temporary file holding `content`, unlinked at once (the fd keeps it).
int temp_file(const std::vector<uint8_t>& content) {
    char name[] = "/tmp/tiercel-payload-XXXXXX";
    int fd = ::mkstemp(name);
    ::unlink(name);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    return fd;
}

std::vector<uint8_t> sample(size_t size) {
    std::vector<uint8_t> data(size);
    std::mt19937 rng(7);
    for (size_t i = 0; i < size; ++i)
        data[i] = static_cast<uint8_t>(i % 251 < 100 ? rng() : i % 7);
    return data;
}

}  // namespace

TEST_CASE("fanotify constants match include/uapi/linux/fanotify.h (Linux 6.14+)") {
    CHECK(fan::pre_access == 0x00100000);
    CHECK(fan::class_pre_content == 0x08);
    CHECK(fan::info_type_range == 6);
    CHECK(fan::deny_errno(EIO) == (0x02u | (5u << 24)));
    CHECK(fan::deny_errno(EAGAIN) == (0x02u | (11u << 24)));
}

TEST_CASE("a payload round-trips, frame by frame, and verifies") {
    auto content = sample(3 * default_frame_size + 12345);
    int fd = temp_file(content);
    PayloadHeader header;
    header.path = "/srv/hot/a.bin";
    header.size = content.size();
    header.xattrs["user.comment"] = std::string("\x00\xff odd", 6);
    MemorySink sink;
    auto written = write_payload(fd, header, sink);
    REQUIRE(written.ok());
    CHECK(written->table.frames.size() == 4);
    MemorySource source;
    source.bytes = sink.bytes;
    auto read = read_header(source);
    REQUIRE(read.ok());
    CHECK(read->path == header.path);
    CHECK(read->xattrs["user.comment"] == header.xattrs["user.comment"]);
    CHECK(read->blake2b.size() == 64);
    auto table = read_seek_table(source);
    REQUIRE(table.ok());
    REQUIRE(table->frames.size() == 4);
    CHECK(table->frames[3].raw_offset == 3 * default_frame_size);
    auto [first, last] = table->covering(default_frame_size - 1, 2);
    CHECK(first == 0);
    CHECK(last == 2);
    auto frame = read_frame(source, table->frames[2]);
    REQUIRE(frame.ok());
    CHECK(std::equal(frame->begin(), frame->end(), content.begin() + 2 * default_frame_size));
    CHECK(verify_payload(source, *read, *table).ok());

    // Reused buffers (the recall's fill threads): a short last frame after full ones, then a full one again.
    std::vector<uint8_t> compressed, raw;
    for (size_t i : {0, 3, 1}) {
        REQUIRE(read_frame_into(source, table->frames[i], compressed, raw).ok());
        CHECK(raw.size() == table->frames[i].raw_size);
        CHECK(std::equal(raw.begin(), raw.end(), content.begin() + static_cast<long>(table->frames[i].raw_offset)));
    }

    // One flipped byte inside a frame: zstd's checksum refuses it.
    source.bytes[table->frames[1].payload_offset + 100] ^= 0x40;
    CHECK(!read_frame(source, table->frames[1]).ok());
    CHECK(!read_frame_into(source, table->frames[1], compressed, raw).ok());
    CHECK(!verify_payload(source, *read, *table).ok());
    ::close(fd);
}

TEST_CASE("an empty file makes a valid payload with one empty frame") {
    int fd = temp_file({});
    MemorySink sink;
    PayloadHeader header;
    auto written = write_payload(fd, header, sink);
    REQUIRE(written.ok());
    MemorySource source;
    source.bytes = sink.bytes;
    auto table = read_seek_table(source);
    REQUIRE(table.ok());
    CHECK(verify_payload(source, written->header, *table).ok());
    ::close(fd);
}

TEST_CASE("the parquet writer frames its footer with PAR1 and the metadata length") {
    std::vector<ParquetColumn> columns{{"id", false, {1, 2, 3}, {}}, {"path", true, {}, {"/a", "/b", "/c"}}};
    auto bytes = write_parquet(columns);
    REQUIRE(bytes.size() > 12);
    CHECK(bytes.substr(0, 4) == "PAR1");
    CHECK(bytes.substr(bytes.size() - 4) == "PAR1");
    uint32_t length = 0;
    for (int i = 0; i < 4; ++i)
        length |= uint32_t(static_cast<uint8_t>(bytes[bytes.size() - 8 + static_cast<size_t>(i)])) << (8 * i);
    CHECK(length < bytes.size());
}
