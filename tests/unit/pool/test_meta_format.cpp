// The metadata byte formats on their own: headers, records, checkpoints, batches, file names.
#include <doctest/doctest.h>

#include "tiercel/pool/meta_batch.hpp"
#include "tiercel/pool/meta_endian.hpp"
#include "tiercel/pool/meta_format.hpp"
#include "test_meta_support.hpp"

using namespace tiercel;
using namespace tiercel::pool;
using namespace tiercel::pool::meta;

TEST_CASE("meta format: file header round trip and rejection of damage") {
    const std::string header = encode_file_header({FileKind::log, test::kPool, 42});
    REQUIRE(header.size() == kFileHeaderSize);
    CHECK(header.substr(0, 8) == "TIERMETA");
    FormatFault fault;
    auto parsed = parse_file_header(header, fault);
    REQUIRE(parsed);
    CHECK(parsed->kind == FileKind::log);
    CHECK(parsed->pool == test::kPool);
    CHECK(parsed->start_sequence == 42);
    for (std::size_t byte = 0; byte < header.size(); ++byte) {
        std::string damaged = header;
        damaged[byte] ^= 0x10;
        CHECK_MESSAGE(!parse_file_header(damaged, fault), "flip at byte " << byte << " went unnoticed");
    }
    CHECK(!parse_file_header(header.substr(0, 43), fault));
}

TEST_CASE("meta format: file names sort by sequence and strangers are ignored") {
    CHECK(checkpoint_path(7) == "meta/checkpoint.00000000000000000007");
    CHECK(log_path(18446744073709551615ull) == "meta/log.18446744073709551615");
    auto name = parse_file_name("log.00000000000000000123");
    REQUIRE(name);
    CHECK(name->kind == FileKind::log);
    CHECK(name->sequence == 123);
    CHECK(!parse_file_name("log.123"));
    CHECK(!parse_file_name(".tmp.checkpoint.00000000000000000001.99.1"));
    CHECK(!parse_file_name("checkpoint.0000000000000000000x"));
}

TEST_CASE("meta format: records detect truncation and bit flips") {
    std::string file = encode_file_header({FileKind::log, test::kPool, 0});
    append_record(file, 1, "first");
    append_record(file, 2, std::string("sec\0nd", 6));
    RecordStop stop = RecordStop::none;
    auto first = parse_record(file, kFileHeaderSize, stop);
    REQUIRE(first);
    CHECK(first->sequence == 1);
    CHECK(first->payload == "first");
    auto second = parse_record(file, first->end_offset, stop);
    REQUIRE(second);
    CHECK(second->payload == std::string("sec\0nd", 6));
    CHECK(!parse_record(file, second->end_offset, stop));
    CHECK(stop == RecordStop::end_of_file);

    for (std::size_t cut = first->end_offset + 1; cut < file.size(); ++cut) {
        CHECK(!parse_record(std::string_view(file).substr(0, cut), first->end_offset, stop));
        CHECK(stop == RecordStop::truncated);
    }
    for (std::size_t byte = first->end_offset; byte < file.size(); ++byte) {
        std::string damaged = file;
        damaged[byte] ^= 0x01;
        CHECK_MESSAGE(!parse_record(damaged, first->end_offset, stop), "flip at byte " << byte << " went unnoticed");
    }
}

TEST_CASE("meta format: checkpoint round trip, including binary keys and an empty state") {
    MetaMap state{{std::string("a\0b", 3), "v1"}, {"b", std::string(3 << 20, 'x')}, {"c", ""}};
    for (int i = 0; i < 5000; ++i)
        state["key/" + std::to_string(i)] = std::string(300, static_cast<char>(i));
    const std::string file = encode_checkpoint(test::kPool, 99, state);
    MetaMap back;
    FormatFault fault;
    auto summary = parse_checkpoint(
        file, [&](std::string_view k, std::string_view v) { back.emplace(std::string(k), std::string(v)); }, fault);
    REQUIRE_MESSAGE(summary, fault.reason);
    CHECK(summary->sequence == 99);
    CHECK(summary->entries == state.size());
    CHECK(back == state);

    const std::string empty = encode_checkpoint(test::kPool, 0, {});
    auto empty_summary = parse_checkpoint(empty, nullptr, fault);
    REQUIRE(empty_summary);
    CHECK(empty_summary->entries == 0);
}

TEST_CASE("meta format: checkpoint damage is located in the chunk that holds it") {
    MetaMap state;
    for (int i = 0; i < 20000; ++i)
        state["key/" + std::to_string(i)] = std::string(100, 'v');
    const std::string file = encode_checkpoint(test::kPool, 5, state);
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 50; ++trial) {
        const std::size_t byte = kFileHeaderSize + rng() % (file.size() - kFileHeaderSize);
        std::string damaged = file;
        damaged[byte] ^= static_cast<char>(1u << (rng() % 8));
        FormatFault fault;
        CHECK_MESSAGE(!parse_checkpoint(damaged, nullptr, fault), "flip at byte " << byte << " went unnoticed");
        CHECK(fault.offset <= byte);
        CHECK(byte - fault.offset <= (2u << 20));
    }
    FormatFault fault;
    CHECK(!parse_checkpoint(std::string_view(file).substr(0, file.size() - 1), nullptr, fault));
    CHECK(!parse_checkpoint(file + "x", nullptr, fault));
}

TEST_CASE("meta batch: encoding decodes to the same ops and malformed bytes are corruption") {
    MetaBatch batch;
    batch.put("a", "1");
    batch.remove(std::string("\0k", 2));
    batch.put("a", "2");
    CHECK(batch.op_count() == 3);
    MetaMap state{{std::string("\0k", 2), "gone"}};
    REQUIRE(apply_batch(batch.encoded(), "test", state).ok());
    CHECK(state == MetaMap{{"a", "2"}});

    std::string encoded(batch.encoded());
    for (std::size_t cut = 0; cut < encoded.size(); ++cut) {
        MetaMap untouched{{"z", "z"}};
        auto applied = apply_batch(std::string_view(encoded).substr(0, cut), "cut batch", untouched);
        CHECK(!applied.ok());
        CHECK(untouched == MetaMap{{"z", "z"}});  // all or nothing
    }
    auto extra = apply_batch(encoded + "!", "long batch", state);
    REQUIRE(!extra.ok());
    CHECK(extra.error().code() == Errc::corruption);
    CHECK(extra.error().message().find("long batch") != std::string::npos);
}
