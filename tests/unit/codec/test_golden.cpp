// Stripes written by an earlier build must decode forever: tests/golden/codec/ holds encoded shards and the bytes
// they must decode to. Regenerate only on a deliberate format change: TIERCEL_REGEN_GOLDEN=1 <unit test binary>
// --test-case='*golden*', then commit the new files with the format version bump.
#include "tiercel/codec/stripe_codec.hpp"

#include <sodium.h>

#include <doctest/doctest.h>

#include <bit>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#ifndef TIERCEL_SOURCE_DIR
#define TIERCEL_SOURCE_DIR "."
#endif

using namespace tiercel;
using namespace tiercel::codec;
namespace fs = std::filesystem;

namespace {

struct GoldenCase {
    const char* name;
    int k;
    int m;
    Compression compression;
    bool encrypted;
    std::uint64_t stripe_id;
    std::uint64_t generation;
    std::size_t logical_size;
    bool compressible;
};

const GoldenCase golden_cases[] = {
    {"2p1_zstd", 2, 1, Compression::zstd, false, 101, 1, 24000, true},
    {"4p2_none", 4, 2, Compression::none, false, 102, 7, 16000, false},
    {"3p2_lz4_encrypted", 3, 2, Compression::lz4, true, 103, 2, 20000, true},
};

constexpr std::string_view golden_passphrase = "tiercel golden corpus";

StripeIdentity golden_identity(const GoldenCase& c) {
    StripeIdentity identity;
    for (std::size_t i = 0; i < identity.pool_uuid.size(); ++i)
        identity.pool_uuid[i] = static_cast<std::uint8_t>(i * 0x11);  // 00112233-4455-6677-8899-aabbccddeeff
    identity.stripe_id = c.stripe_id;
    identity.generation = c.generation;
    return identity;
}

// Fixed salt and Argon2id's minimum limits: the key must be derivable again by any later build.
KdfParams golden_kdf() {
    KdfParams params;
    for (std::size_t i = 0; i < params.salt.size(); ++i)
        params.salt[i] = static_cast<std::uint8_t>(i);
    params.opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    params.memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
    return params;
}

StripeCodec golden_codec(const GoldenCase& c) {
    StripeCodecConfig config;
    config.data_shards = c.k;
    config.parity_shards = c.m;
    config.compression = c.compression;
    if (c.encrypted) {
        auto key = AeadKey::derive(golden_passphrase, golden_kdf());
        REQUIRE(key.ok());
        config.key = *key;
    }
    auto codec = StripeCodec::create(config);
    REQUIRE(codec.ok());
    return std::move(codec).value();
}

// A deterministic xorshift stream, so a regeneration writes the same original bytes.
Bytes golden_original(const GoldenCase& c) {
    const std::string words = "golden stripes must decode forever; ";
    std::uint32_t state = static_cast<std::uint32_t>(c.stripe_id * 2654435761u);
    Bytes out(c.logical_size);
    for (std::size_t i = 0; i < out.size(); ++i) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        out[i] = c.compressible && state % 4 != 0 ? static_cast<std::uint8_t>(words[i % words.size()])
                                                  : static_cast<std::uint8_t>(state);
    }
    return out;
}

fs::path case_dir(const GoldenCase& c) { return fs::path(TIERCEL_SOURCE_DIR) / "tests/golden/codec" / c.name; }
fs::path shard_path(const GoldenCase& c, int index) {
    return case_dir(c) / ("shard_" + std::to_string(index) + ".bin");
}

Bytes read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot open golden file " << path.string());
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    REQUIRE_MESSAGE(out.good(), "cannot write golden file " << path.string());
}

void regenerate(const GoldenCase& c) {
    const Bytes original = golden_original(c);
    auto shards = golden_codec(c).encode(golden_identity(c), original);
    REQUIRE(shards.ok());
    fs::create_directories(case_dir(c));
    write_file(case_dir(c) / "original.bin", original);
    for (std::size_t i = 0; i < shards->size(); ++i)
        write_file(shard_path(c, static_cast<int>(i)), (*shards)[i]);
}

}  // namespace

TEST_CASE("golden corpus: regenerate when TIERCEL_REGEN_GOLDEN=1") {
    const char* flag = std::getenv("TIERCEL_REGEN_GOLDEN");
    if (flag == nullptr || std::string(flag) != "1")
        return;
    for (const GoldenCase& c : golden_cases)
        regenerate(c);
    MESSAGE("golden corpus regenerated under " << (fs::path(TIERCEL_SOURCE_DIR) / "tests/golden/codec").string());
}

TEST_CASE("golden corpus: stored stripes decode byte-identical, with any m shards removed") {
    for (const GoldenCase& c : golden_cases) {
        CAPTURE(c.name);
        const Bytes original = read_file(case_dir(c) / "original.bin");
        REQUIRE(original == golden_original(c));
        std::vector<Bytes> shards;
        for (int i = 0; i < c.k + c.m; ++i)
            shards.push_back(read_file(shard_path(c, i)));

        // The stored headers must say what the case claims, so a silent format drift shows up here.
        auto header = verify_shard(shards[0]);
        REQUIRE(header.ok());
        CHECK(header->encrypted == c.encrypted);
        CHECK(header->compression == c.compression);
        CHECK(header->logical_length == c.logical_size);

        const StripeCodec codec = golden_codec(c);
        const ShardMask all = (ShardMask{1} << (c.k + c.m)) - 1;
        for (ShardMask dropped = 0; dropped <= all; ++dropped) {
            if (std::popcount(dropped) > c.m)
                continue;
            CAPTURE(dropped);
            std::vector<ByteView> views;
            for (std::size_t i = 0; i < shards.size(); ++i)
                views.push_back((dropped & shard_bit(static_cast<unsigned>(i))) ? ByteView{} : ByteView(shards[i]));
            auto decoded = codec.decode(golden_identity(c), views);
            REQUIRE(decoded.ok());
            CHECK(decoded->data == original);
        }
    }
}
