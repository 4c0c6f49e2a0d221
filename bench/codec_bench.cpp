// Codec throughput on one core, printed next to a memcpy baseline measured in the same run so that numbers from
// different machines can be compared as ratios. Layout 4+2 with 1 MiB shards (a 4 MiB stripe) throughout.
// GB/s counts logical (user) bytes per second: for erasure rows the k data shards, for stripe rows the stripe.
// The input is text with 1 random byte in 8, which zstd and lz4 compress to roughly half: a plausible mix,
// neither best nor worst case. Encode rows reuse one set of shard buffers (encode_into), as a writer with a buffer
// pool would; one row shows the cost of fresh buffers (page faults) for comparison. Decode rows allocate.
#include "tiercel/codec/erasure.hpp"
#include "tiercel/codec/stripe_codec.hpp"

#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace tiercel;
using namespace tiercel::codec;

namespace {

constexpr int k = 4;
constexpr int m = 2;
constexpr std::size_t shard_len = std::size_t{1} << 20;
constexpr std::size_t stripe_len = k * shard_len;
constexpr double min_seconds = 0.5;

// Runs `op` until min_seconds have passed and returns bytes_per_op * runs / seconds in GB/s (10^9).
double measure(std::size_t bytes_per_op, const std::function<void()>& op) {
    op();  // warm-up: page faults, zstd contexts, decode-table cache
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    std::size_t runs = 0;
    double seconds = 0;
    do {
        op();
        ++runs;
        seconds = std::chrono::duration<double>(clock::now() - start).count();
    } while (seconds < min_seconds);
    return static_cast<double>(bytes_per_op) * static_cast<double>(runs) / seconds / 1e9;
}

Bytes sample_data(std::size_t size) {
    const std::string words = "tiercel moves cold files to the erasure coded hdd pool. ";
    std::mt19937 rng(42);
    Bytes out(size);
    for (std::size_t i = 0; i < size; ++i)
        out[i] = rng() % 8 == 0 ? static_cast<std::uint8_t>(rng()) : static_cast<std::uint8_t>(words[i % words.size()]);
    return out;
}

template <typename T>
T must(Result<T> result, const char* what) {
    if (!result.ok()) {
        std::fprintf(stderr, "%s: %s\n", what, result.error().describe().c_str());
        std::exit(1);
    }
    return std::move(result).value();
}

void must(const Status& status, const char* what) {
    if (!status.ok()) {
        std::fprintf(stderr, "%s: %s\n", what, status.error().describe().c_str());
        std::exit(1);
    }
}

struct Row {
    std::string name;
    double gbps;
};

void erasure_rows(std::vector<Row>& rows, const Bytes& data) {
    const ErasureCoder coder = must(ErasureCoder::create(k, m), "erasure coder");
    std::vector<Bytes> shards(k + m, Bytes(shard_len));
    for (int i = 0; i < k; ++i)
        std::memcpy(shards[i].data(), data.data() + i * shard_len, shard_len);
    std::vector<const std::uint8_t*> inputs;
    std::vector<std::uint8_t*> outputs;
    for (auto& shard : shards) {
        inputs.push_back(shard.data());
        outputs.push_back(shard.data());
    }
    const std::span<const std::uint8_t* const> data_in(inputs.data(), k);
    const std::span<std::uint8_t* const> parity_out(outputs.data() + k, m);
    rows.push_back({"isa-l encode 4+2", measure(stripe_len, [&] { must(coder.encode(data_in, parity_out, shard_len), "encode"); })});
    std::vector<Bytes> scratch(k + m, Bytes(shard_len));
    std::vector<std::uint8_t*> rebuilt;
    for (auto& shard : scratch)
        rebuilt.push_back(shard.data());
    for (ShardMask lost : {shard_bit(1), shard_bit(1) | shard_bit(2)}) {
        const ShardMask present = coder.all_shards() & ~lost;
        const std::string name = "isa-l reconstruct, " + std::to_string(std::popcount(lost)) + " data lost";
        rows.push_back({name, measure(stripe_len, [&] {
                            must(coder.reconstruct(inputs, present, rebuilt, lost, shard_len), "reconstruct");
                        })});
    }
}

void stripe_rows(std::vector<Row>& rows, const Bytes& data, Compression compression, bool encrypted) {
    StripeCodecConfig config;
    config.data_shards = k;
    config.parity_shards = m;
    config.compression = compression;
    std::string label = std::string("stripe ") + std::string(compression_name(compression));
    if (encrypted) {
        std::array<std::uint8_t, aead_key_size> raw{};
        randombytes_buf(raw.data(), raw.size());
        config.key = must(AeadKey::from_bytes(raw), "key");
        label += "+aead";
    }
    const StripeCodec codec = must(StripeCodec::create(config), "stripe codec");
    StripeIdentity id;
    id.stripe_id = 1;
    const std::vector<Bytes> shards = must(codec.encode(id, data), "stripe encode");
    std::vector<ByteView> all;
    for (const Bytes& shard : shards)
        all.push_back(shard);
    std::vector<ByteView> data_only = all;
    data_only[4] = data_only[5] = ByteView{};
    std::vector<ByteView> two_lost = all;
    two_lost[0] = two_lost[3] = ByteView{};
    std::vector<Bytes> reused;
    rows.push_back({label + " encode", measure(stripe_len, [&] { must(codec.encode_into(id, data, reused), "encode"); })});
    if (compression == Compression::none && !encrypted)
        rows.push_back({label + " encode (fresh buffers)",
                        measure(stripe_len, [&] { must(codec.encode(id, data), "encode"); })});
    rows.push_back({label + " decode (healthy)", measure(stripe_len, [&] { must(codec.decode(id, data_only), "decode"); })});
    rows.push_back({label + " decode (2 data lost)", measure(stripe_len, [&] { must(codec.decode(id, two_lost), "decode"); })});
}

}  // namespace

int main() {
    const Bytes data = sample_data(stripe_len);
    Bytes copy(stripe_len);
    std::vector<Row> rows;
    const double memcpy_gbps = measure(stripe_len, [&] {
        std::memcpy(copy.data(), data.data(), stripe_len);
        asm volatile("" : : "r"(copy.data()) : "memory");  // keep the copy from being optimised away
    });
    rows.push_back({"memcpy baseline", memcpy_gbps});
    erasure_rows(rows, data);
    for (Compression compression : {Compression::none, Compression::zstd, Compression::lz4})
        stripe_rows(rows, data, compression, false);
    stripe_rows(rows, data, Compression::none, true);
    stripe_rows(rows, data, Compression::zstd, true);

    std::printf("codec benchmark: layout %d+%d, %zu KiB shards, %zu KiB stripes, one core\n", k, m, shard_len >> 10,
                stripe_len >> 10);
    std::printf("%-40s %10s %12s\n", "operation", "GB/s", "vs memcpy");
    for (const Row& row : rows)
        std::printf("%-40s %10.2f %11.3fx\n", row.name.c_str(), row.gbps, row.gbps / memcpy_gbps);
    return 0;
}
