// The [pool] section and its [[pool.disk]] tables.
#include <cctype>
#include <set>

#include "tiercel/core/config.hpp"
#include "tiercel/core/config_reader.hpp"

namespace tiercel {
namespace {

void parse_disk(const toml::table& table, size_t index, TableReader& pool_reader, PoolDiskConfig& disk) {
    TableReader reader(table, "pool.disk[" + std::to_string(index) + "]", pool_reader.errors());
    reader.read_checked_string("path", disk.path, [](const std::string& value) {
        return !value.empty() && value.front() == '/' ? std::string() : "must be an absolute path";
    });
    if (!table.contains("path"))
        reader.fail("path", "is required: the directory of this disk");
    reader.read_choice("tier", disk.tier, {"nvme", "ssd", "hdd", "smr"});
    reader.read_optional_size("capacity", disk.capacity);
    reader.read_string("failure_domain", disk.failure_domain);
    reader.read_string("device", disk.device);
    reader.finish();
}

}  // namespace

void parse_pool_section(TableReader& root, PoolConfig& pool) {
    const toml::table* table = root.sub_table("pool");
    if (!table)
        return;
    pool.configured = true;
    TableReader reader(*table, "pool", root.errors());
    reader.read_checked_string("name", pool.name, [](const std::string& value) {
        if (value.empty() || value.size() > 64)
            return std::string("must be 1 to 64 characters");
        for (char c : value)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
                return std::string("may only hold letters, digits, '-' and '_'");
        return std::string();
    });
    int64_t k = pool.k, m = pool.m, level = pool.compression_level;
    reader.read_int("k", k, 1, 32);
    reader.read_int("m", m, 0, 8);
    pool.k = static_cast<int>(k);
    pool.m = static_cast<int>(m);
    reader.read_size("chunk_size", pool.chunk_size);
    if (pool.chunk_size < 4096 || pool.chunk_size > (64u << 20) || pool.chunk_size % 4096 != 0)
        reader.fail("chunk_size", "must be a multiple of 4 KiB between 4 KiB and 64 MiB");
    reader.read_choice("compression", pool.compression, {"zstd", "lz4", "none"});
    reader.read_int("compression_level", level, 1, 19);
    pool.compression_level = static_cast<int>(level);
    reader.read_string("key_file", pool.key_file);
    reader.read_string("mountpoint", pool.mountpoint);

    std::set<std::string> seen;
    auto disks = reader.table_array("disk");
    for (size_t i = 0; i < disks.size(); ++i) {
        PoolDiskConfig disk;
        parse_disk(*disks[i], i, reader, disk);
        if (!disk.path.empty() && !seen.insert(disk.path).second)
            reader.fail("disk", "disk path " + disk.path + " is listed twice");
        pool.disks.push_back(std::move(disk));
    }
    reader.finish();
}

void render_pool_section(const PoolConfig& pool, toml::table& out) {
    toml::array disks;
    for (const auto& disk : pool.disks) {
        toml::table entry{{"path", disk.path}, {"tier", disk.tier}};
        if (disk.capacity)
            entry.insert("capacity", static_cast<int64_t>(*disk.capacity));
        if (!disk.failure_domain.empty())
            entry.insert("failure_domain", disk.failure_domain);
        if (!disk.device.empty())
            entry.insert("device", disk.device);
        disks.push_back(std::move(entry));
    }
    toml::table table{{"name", pool.name},
                      {"k", pool.k},
                      {"m", pool.m},
                      {"chunk_size", static_cast<int64_t>(pool.chunk_size)},
                      {"compression", pool.compression},
                      {"compression_level", pool.compression_level},
                      {"disk", std::move(disks)}};
    if (!pool.key_file.empty())
        table.insert("key_file", pool.key_file);
    if (!pool.mountpoint.empty())
        table.insert("mountpoint", pool.mountpoint);
    out.insert("pool", std::move(table));
}

}  // namespace tiercel
