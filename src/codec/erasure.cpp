#include "tiercel/codec/erasure.hpp"

#include <isa-l/erasure_code.h>

#include <bit>
#include <climits>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace tiercel::codec {
namespace {

// The decode tables for one loss pattern: which k shards are read, which shards are produced, and ISA-L's
// expanded multiplication tables for the (outputs x k) coefficient matrix.
struct DecodePlan {
    std::vector<unsigned> sources;
    std::vector<unsigned> outputs;
    std::vector<std::uint8_t> tables;
};

struct PatternKey {
    ShardMask sources = 0;
    ShardMask wanted = 0;
    bool operator==(const PatternKey&) const = default;
};

struct PatternKeyHash {
    std::size_t operator()(const PatternKey& key) const {
        return std::hash<std::uint64_t>{}(key.sources * 0x9E3779B97F4A7C15ULL ^ key.wanted);
    }
};

std::vector<unsigned> indexes_of(ShardMask mask) {
    std::vector<unsigned> out;
    while (mask != 0) {
        out.push_back(static_cast<unsigned>(std::countr_zero(mask)));
        mask &= mask - 1;
    }
    return out;
}

// The k lowest set bits of `present`: data shards come first, so parity is only read when data is missing.
ShardMask lowest_bits(ShardMask present, int count) {
    ShardMask chosen = 0;
    for (int i = 0; i < count; ++i) {
        const ShardMask lowest = present & (~present + 1);
        chosen |= lowest;
        present &= present - 1;
    }
    return chosen;
}

std::string mask_list(ShardMask mask) {
    std::string out;
    for (unsigned index : indexes_of(mask)) {
        if (!out.empty())
            out += ",";
        out += std::to_string(index);
    }
    return out.empty() ? "none" : out;
}

Status check_length(std::size_t shard_len) {
    if (shard_len > static_cast<std::size_t>(INT_MAX))
        return make_error(Errc::invalid_input,
                          "erasure shard length " + std::to_string(shard_len) + " exceeds ISA-L's int limit");
    return {};
}

}  // namespace

struct ErasureCoder::Impl {
    int k = 0;
    int m = 0;
    std::size_t capacity = 0;
    std::vector<std::uint8_t> matrix;         // (k + m) x k: identity on top, Cauchy rows below
    std::vector<std::uint8_t> encode_tables;  // ec_init_tables of the m Cauchy rows

    mutable std::shared_mutex cache_mutex;
    mutable std::unordered_map<PatternKey, std::shared_ptr<const DecodePlan>, PatternKeyHash> cache;
    mutable std::deque<PatternKey> insertion_order;  // eviction order, oldest first

    std::string layout() const { return std::to_string(k) + "+" + std::to_string(m); }
    ShardMask all() const { return (ShardMask{1} << (k + m)) - 1; }

    Result<std::shared_ptr<const DecodePlan>> build_plan(PatternKey key) const;
    Result<std::shared_ptr<const DecodePlan>> plan_for(PatternKey key) const;
};

Result<std::shared_ptr<const DecodePlan>> ErasureCoder::Impl::build_plan(PatternKey key) const {
    auto plan = std::make_shared<DecodePlan>();
    plan->sources = indexes_of(key.sources);
    plan->outputs = indexes_of(key.wanted);
    const std::size_t kk = static_cast<std::size_t>(k);

    std::vector<std::uint8_t> chosen_rows(kk * kk);
    for (std::size_t r = 0; r < kk; ++r)
        for (std::size_t c = 0; c < kk; ++c)
            chosen_rows[r * kk + c] = matrix[plan->sources[r] * kk + c];
    std::vector<std::uint8_t> inverse(kk * kk);
    if (gf_invert_matrix(chosen_rows.data(), inverse.data(), k) != 0)
        return make_error(Errc::internal, "erasure " + layout() + ": singular decode matrix for sources " +
                                              mask_list(key.sources));

    // inverse maps the source shards back to the data shards; a parity output is its generator row applied to that.
    std::vector<std::uint8_t> coefficients(plan->outputs.size() * kk);
    for (std::size_t o = 0; o < plan->outputs.size(); ++o) {
        const std::size_t target = plan->outputs[o];
        for (std::size_t c = 0; c < kk; ++c) {
            std::uint8_t value = 0;
            if (target < kk) {
                value = inverse[target * kk + c];
            } else {
                for (std::size_t i = 0; i < kk; ++i)
                    value ^= gf_mul(matrix[target * kk + i], inverse[i * kk + c]);
            }
            coefficients[o * kk + c] = value;
        }
    }
    plan->tables.resize(32 * kk * plan->outputs.size());
    ec_init_tables(k, static_cast<int>(plan->outputs.size()), coefficients.data(), plan->tables.data());
    return std::shared_ptr<const DecodePlan>(std::move(plan));
}

Result<std::shared_ptr<const DecodePlan>> ErasureCoder::Impl::plan_for(PatternKey key) const {
    {
        std::shared_lock lock(cache_mutex);
        if (auto found = cache.find(key); found != cache.end())
            return found->second;
    }
    // Built outside the lock: two threads missing the same pattern both compute it, and the first insert wins.
    TIERCEL_ASSIGN(auto plan, build_plan(key));
    std::unique_lock lock(cache_mutex);
    auto [slot, inserted] = cache.try_emplace(key, plan);
    if (inserted) {
        insertion_order.push_back(key);
        while (cache.size() > capacity) {
            cache.erase(insertion_order.front());
            insertion_order.pop_front();
        }
    }
    return plan;
}

ErasureCoder::ErasureCoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ErasureCoder::ErasureCoder(ErasureCoder&&) noexcept = default;
ErasureCoder& ErasureCoder::operator=(ErasureCoder&&) noexcept = default;
ErasureCoder::~ErasureCoder() = default;

Result<ErasureCoder> ErasureCoder::create(int k, int m, std::size_t cache_capacity) {
    if (k < 1 || k > max_data_shards || m < 0 || m > max_parity_shards)
        return make_error(Errc::invalid_input, "erasure layout " + std::to_string(k) + "+" + std::to_string(m) +
                                                   " is not supported: need 1 <= k <= 32 and 0 <= m <= 8");
    if (cache_capacity == 0)
        return make_error(Errc::invalid_input, "erasure decode table cache capacity must be at least 1");
    auto impl = std::make_unique<Impl>();
    impl->k = k;
    impl->m = m;
    impl->capacity = cache_capacity;
    const std::size_t rows = static_cast<std::size_t>(k + m);
    impl->matrix.resize(rows * static_cast<std::size_t>(k));
    gf_gen_cauchy1_matrix(impl->matrix.data(), k + m, k);
    if (m > 0) {
        impl->encode_tables.resize(32 * static_cast<std::size_t>(k) * static_cast<std::size_t>(m));
        ec_init_tables(k, m, impl->matrix.data() + static_cast<std::size_t>(k) * static_cast<std::size_t>(k),
                       impl->encode_tables.data());
    }
    return ErasureCoder(std::move(impl));
}

int ErasureCoder::data_shards() const { return impl_->k; }
int ErasureCoder::parity_shards() const { return impl_->m; }
int ErasureCoder::total_shards() const { return impl_->k + impl_->m; }
ShardMask ErasureCoder::all_shards() const { return impl_->all(); }

std::size_t ErasureCoder::cached_patterns() const {
    std::shared_lock lock(impl_->cache_mutex);
    return impl_->cache.size();
}

Status ErasureCoder::encode(std::span<const std::uint8_t* const> data, std::span<std::uint8_t* const> parity,
                            std::size_t shard_len) const {
    const Impl& self = *impl_;
    if (data.size() != static_cast<std::size_t>(self.k) || parity.size() != static_cast<std::size_t>(self.m))
        return make_error(Errc::invalid_input, "erasure " + self.layout() + " encode: got " +
                                                   std::to_string(data.size()) + " data and " +
                                                   std::to_string(parity.size()) + " parity buffers");
    TIERCEL_TRY(check_length(shard_len));
    if (self.m == 0 || shard_len == 0)
        return {};
    // ISA-L's signature is not const-correct; it only reads the data pointers.
    ec_encode_data(static_cast<int>(shard_len), self.k, self.m, const_cast<std::uint8_t*>(self.encode_tables.data()),
                   const_cast<std::uint8_t**>(data.data()), const_cast<std::uint8_t**>(parity.data()));
    return {};
}

Status ErasureCoder::reconstruct(std::span<const std::uint8_t* const> shards, ShardMask present,
                                 std::span<std::uint8_t* const> rebuilt, ShardMask wanted,
                                 std::size_t shard_len) const {
    const Impl& self = *impl_;
    const std::size_t total = static_cast<std::size_t>(self.k + self.m);
    if (shards.size() != total || rebuilt.size() != total)
        return make_error(Errc::invalid_input, "erasure " + self.layout() + " reconstruct: expected " +
                                                   std::to_string(total) + " shard slots");
    if ((present | wanted) & ~self.all())
        return make_error(Errc::invalid_input, "erasure " + self.layout() + " reconstruct: shard mask names a shard "
                                                                            "beyond index " +
                                                   std::to_string(total - 1));
    if (present & wanted)
        return make_error(Errc::invalid_input, "erasure " + self.layout() + " reconstruct: shards " +
                                                   mask_list(present & wanted) + " are both present and wanted");
    TIERCEL_TRY(check_length(shard_len));
    if (wanted == 0)
        return {};
    if (std::popcount(present) < self.k)
        return make_error(Errc::unavailable, "erasure " + self.layout() + ": only " +
                                                 std::to_string(std::popcount(present)) + " shards present (" +
                                                 mask_list(present) + "), need " + std::to_string(self.k) +
                                                 " to rebuild " + mask_list(wanted));
    if (shard_len == 0)
        return {};  // nothing to compute; empty buffers may legitimately be null
    const PatternKey key{lowest_bits(present, self.k), wanted};
    for (unsigned index : indexes_of(key.sources))
        if (shards[index] == nullptr)
            return make_error(Errc::invalid_input, "erasure reconstruct: present shard " + std::to_string(index) +
                                                       " has no buffer");
    for (unsigned index : indexes_of(wanted))
        if (rebuilt[index] == nullptr)
            return make_error(Errc::invalid_input, "erasure reconstruct: wanted shard " + std::to_string(index) +
                                                       " has no output buffer");

    TIERCEL_ASSIGN(auto plan, self.plan_for(key));
    std::vector<std::uint8_t*> inputs;
    std::vector<std::uint8_t*> outputs;
    for (unsigned index : plan->sources)
        inputs.push_back(const_cast<std::uint8_t*>(shards[index]));  // ISA-L only reads its inputs
    for (unsigned index : plan->outputs)
        outputs.push_back(rebuilt[index]);
    ec_encode_data(static_cast<int>(shard_len), self.k, static_cast<int>(outputs.size()),
                   const_cast<std::uint8_t*>(plan->tables.data()), inputs.data(), outputs.data());
    return {};
}

}  // namespace tiercel::codec
