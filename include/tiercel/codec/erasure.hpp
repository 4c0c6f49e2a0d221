// Contract: systematic Reed-Solomon erasure coding over GF(2^8) with ISA-L and a Cauchy generator matrix, for any
// 1 <= k <= 32 data shards and 0 <= m <= 8 parity shards (others are invalid_input). Shard i < k is data, shard
// k + j is parity j. Any k of the k + m shards rebuild all the others (the code is MDS), so up to m losses are
// survivable; with fewer than k present, reconstruct() is Errc::unavailable.
//
// Shards are plain buffers of one common length. No alignment or length multiple is required (ISA-L handles any
// tail); the length must fit in an int because ISA-L takes one. The coder does not checksum anything: feeding it a
// corrupt shard yields corrupt output. Callers verify shards first (the stripe codec does).
//
// Thread safety: every const member may be called from many threads at once. Decode tables are cached per loss
// pattern in a bounded cache behind a shared_mutex (readers share; a miss computes outside the lock); when the
// cache is full the oldest pattern is dropped.
#pragma once

#include "tiercel/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace tiercel::codec {

inline constexpr int max_data_shards = 32;
inline constexpr int max_parity_shards = 8;

// Bit i set = shard i (0 <= i < k + m <= 40).
using ShardMask = std::uint64_t;

inline constexpr ShardMask shard_bit(unsigned index) { return ShardMask{1} << index; }

class ErasureCoder {
public:
    static constexpr std::size_t default_cache_capacity = 256;

    // Fails with invalid_input outside 1 <= k <= 32, 0 <= m <= 8, or with a zero cache capacity.
    static Result<ErasureCoder> create(int k, int m, std::size_t cache_capacity = default_cache_capacity);

    ErasureCoder(ErasureCoder&&) noexcept;
    ErasureCoder& operator=(ErasureCoder&&) noexcept;
    ~ErasureCoder();

    int data_shards() const;
    int parity_shards() const;
    int total_shards() const;
    ShardMask all_shards() const;

    // Computes the m parity shards from the k data shards. data.size() == k, parity.size() == m; every buffer holds
    // shard_len bytes and parity buffers must not overlap data buffers.
    Status encode(std::span<const std::uint8_t* const> data, std::span<std::uint8_t* const> parity,
                  std::size_t shard_len) const;

    // Rebuilds the shards in `wanted` from those in `present`. Both spans are indexed by shard (size k + m):
    // shards[i] is read for i in present, rebuilt[i] is written for i in wanted; other entries may be null.
    // `wanted` must not intersect `present` (a present shard is an input, not an output) — invalid_input otherwise.
    // Uses the k lowest-numbered present shards, so data shards are preferred over parity.
    Status reconstruct(std::span<const std::uint8_t* const> shards, ShardMask present,
                       std::span<std::uint8_t* const> rebuilt, ShardMask wanted, std::size_t shard_len) const;

    // Number of loss patterns whose decode tables are cached now (for tests and metrics).
    std::size_t cached_patterns() const;

private:
    struct Impl;
    explicit ErasureCoder(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tiercel::codec
