// Seeded simulation: SimDisk replicas crash at random points (different per replica), their un-synced writes are
// kept, dropped or torn sector by sector, and some seeds add random write failures. Every recovery must hold a
// prefix of the script containing every acknowledged commit. A failure prints its seed; rerun it alone with
// TIERCEL_META_SEED=<seed>.
#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <random>

#include "test_meta_support.hpp"
#include "tiercel/io/fault_disk.hpp"
#include "tiercel/io/sim_disk.hpp"
#include "tiercel/pool/meta_store.hpp"

using namespace tiercel;
using namespace tiercel::pool;

namespace {

struct SimRun {
    std::vector<std::shared_ptr<io::SimDisk>> sims;
    std::vector<io::DiskPtr> bare;
};

// Runs script[from..] (with the odd forced checkpoint) until a commit fails; returns how many batches of the script
// are then acknowledged.
std::size_t run_phase(MetaStore& store, const std::vector<MetaBatch>& script, std::size_t from, std::mt19937_64& rng) {
    for (std::size_t i = from; i < script.size(); ++i) {
        if (!store.commit(script[i]).ok())
            return i;
        if (rng() % 17 == 0)
            (void)store.checkpoint();
    }
    return script.size();
}

// Wraps the SimDisks in FaultDisks that stop after a random number of mutating ops and, when asked, fail random
// writes.
std::vector<io::DiskPtr> arm_faults(const SimRun& run, std::mt19937_64& rng, bool random_write_errors) {
    std::vector<io::DiskPtr> wrapped;
    for (const auto& sim : run.sims) {
        auto faulty = io::FaultDisk::wrap(sim);
        faulty->crash_after_ops(rng() % 160);
        if (random_write_errors) {
            auto errors = std::make_shared<std::mt19937_64>(rng());
            faulty->fail_ops_matching([errors](const io::OpInfo& op) -> std::optional<Errc> {
                if (io::is_mutating(op.op) && (*errors)() % 50 == 0)
                    return Errc::io_error;
                return std::nullopt;
            });
        }
        wrapped.push_back(faulty);
    }
    return wrapped;
}

void crash_all(const SimRun& run) {
    for (const auto& sim : run.sims)
        sim->crash();
}

// How often each replica status was seen across all seeds, to show the simulation reaches the interesting cases.
std::map<std::string, int> g_statuses;

void run_seed(std::uint64_t seed) {
    INFO("seed " << seed << " (rerun: TIERCEL_META_SEED=" << seed << ")");
    std::mt19937_64 rng(seed);
    SimRun run;
    const std::size_t replica_count = 2 + rng() % 2;
    for (std::size_t i = 0; i < replica_count; ++i) {
        run.sims.push_back(io::SimDisk::create("sim" + std::to_string(i), {.seed = rng(), .sector_size = 64}));
        run.bare.push_back(run.sims.back());
    }
    MetaStoreOptions options;
    options.checkpoint_min_log_bytes = 1024 + rng() % 8192;
    options.checkpoint_growth_factor = 1;
    const auto script = test::make_script(40 + rng() % 40, seed);
    const auto states = test::prefix_states(script);
    const bool write_errors = seed % 4 == 3;

    std::size_t recovered = 0;
    {
        auto created = MetaStore::create(run.bare, test::kPool, options);
        REQUIRE_MESSAGE(created.ok(), test::describe(created));
    }
    for (int phase = 0; phase < 3 && recovered < script.size(); ++phase) {
        INFO("phase " << phase << ", continuing from batch " << recovered);
        std::size_t acked = recovered;
        {
            auto opened = MetaStore::open(arm_faults(run, rng, write_errors), test::kPool, replica_count, options);
            if (opened.ok() && opened->store->last_sequence() == recovered)
                acked = run_phase(*opened->store, script, recovered, rng);
        }
        crash_all(run);
        auto reopened = MetaStore::open(run.bare, test::kPool, replica_count, options);
        REQUIRE_MESSAGE(reopened.ok(), test::describe(reopened));
        const std::uint64_t sequence = reopened->store->last_sequence();
        INFO("acknowledged " << acked << ", recovered " << sequence << "\n" << reopened->report.describe());
        for (const auto& replica : reopened->report.replicas)
            ++g_statuses[std::string(to_string(replica.status))];
        REQUIRE((sequence == acked || sequence == acked + 1));
        REQUIRE(test::matching_prefix(states, test::snapshot(*reopened->store), sequence) ==
                static_cast<long>(sequence));
        auto verified = reopened->store->verify_replicas();
        REQUIRE_MESSAGE(verified.clean(), verified.describe());
        recovered = sequence;
    }
}

}  // namespace

TEST_CASE("meta sim: 200 seeds of random crash points, torn writes and write errors recover a valid prefix") {
    if (const char* only = std::getenv("TIERCEL_META_SEED")) {
        run_seed(std::strtoull(only, nullptr, 10));
        return;
    }
    for (std::uint64_t seed = 1; seed <= 200; ++seed)
        run_seed(seed);
    std::string seen;
    for (const auto& [status, count] : g_statuses)
        seen += status + "=" + std::to_string(count) + " ";
    MESSAGE("replica statuses after crashes: " << seen);
    CHECK(g_statuses["torn tail"] + g_statuses["damaged"] > 0);
    CHECK(g_statuses["behind"] > 0);
}
