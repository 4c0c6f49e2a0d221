// `tiercel catalog ...`: export the HSM catalog (Parquet, CSV, JSON lines) and rebuild it from payload headers.
#include <sys/xattr.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "tiercel/cli/common.hpp"
#include "tiercel/hsm/archiver.hpp"
#include "tiercel/hsm/file_state.hpp"
#include "tiercel/hsm/parquet.hpp"
#include "tiercel/pool/pool_from_config.hpp"

namespace tiercel::cli {
namespace {

struct CatalogArgs {
    std::string format = "parquet";
    std::string output;
    std::string target;
};

// One row per copy: everything needed to find and check an archived file without Tiercel.
constexpr std::string_view export_sql = R"sql(
SELECT f.id, f.path, f.state, f.pinned, v.version, v.size, v.mtime_ns, v.blake2b, v.archived_ns,
       c.target, c.key, c.payload_size
FROM files f JOIN versions v ON v.file_id = f.id JOIN copies c ON c.file_id = v.file_id AND c.version = v.version
ORDER BY f.path, v.version, c.target)sql";

const std::vector<std::pair<std::string, bool>> export_columns = {
    {"file_id", false}, {"path", true},     {"state", true},       {"pinned", false},
    {"version", false}, {"size", false},    {"mtime_ns", false},   {"blake2b_256", true},
    {"archived_ns", false}, {"target", true}, {"key", true},       {"payload_size", false}};

std::string csv_field(const std::string& value) {
    if (value.find_first_of(",\"\n") == std::string::npos)
        return value;
    std::string out = "\"";
    for (char c : value)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

int export_command(CliContext& context, const CatalogArgs& args) {
    auto config = load_config_or_report(context);
    if (!config)
        return context.exit_code;
    auto catalog = hsm::Catalog::open(config->hsm.catalog_path(config->state_dir));
    if (!catalog)
        return report_error("catalog", catalog.error());
    auto statement = catalog->database().prepare(export_sql);
    if (!statement)
        return report_error("catalog export", statement.error());
    std::vector<hsm::ParquetColumn> columns;
    for (const auto& [name, is_string] : export_columns)
        columns.push_back({name, is_string, {}, {}});
    while (true) {
        auto more = statement->step();
        if (!more)
            return report_error("catalog export", more.error());
        if (!*more)
            break;
        for (size_t i = 0; i < columns.size(); ++i) {
            if (columns[i].is_string)
                columns[i].strings.push_back(statement->column_text(static_cast<int>(i)));
            else
                columns[i].ints.push_back(statement->column_int64(static_cast<int>(i)));
        }
    }
    std::ofstream out(args.output, std::ios::binary | std::ios::trunc);
    if (!out)
        return report_error("catalog export", Error::from_errno(errno, args.output));
    size_t rows = columns[0].size();
    if (args.format == "parquet") {
        out << hsm::write_parquet(columns);
    } else {
        if (args.format == "csv") {
            for (size_t i = 0; i < columns.size(); ++i)
                out << (i ? "," : "") << columns[i].name;
            out << "\n";
        }
        for (size_t row = 0; row < rows; ++row) {
            nlohmann::json line = nlohmann::json::object();
            for (size_t i = 0; i < columns.size(); ++i) {
                const auto& column = columns[i];
                if (args.format == "csv")
                    out << (i ? "," : "")
                        << (column.is_string ? csv_field(column.strings[row]) : std::to_string(column.ints[row]));
                else if (column.is_string)
                    line[column.name] = column.strings[row];
                else
                    line[column.name] = column.ints[row];
            }
            out << (args.format == "csv" ? std::string() : line.dump()) << "\n";
        }
    }
    out.close();
    if (!out)
        return report_error("catalog export", Error::from_errno(errno, args.output));
    std::printf("exported %zu rows (one per copy) to %s as %s\n", rows, args.output.c_str(), args.format.c_str());
    return kExitOk;
}

// The state a rebuilt row gets: the file's own xattr when it names this file id, else premigrated.
std::string state_from_file(const hsm::PayloadHeader& header) {
    char buffer[256];
    ssize_t n = ::getxattr(header.path.c_str(), hsm::state_xattr, buffer, sizeof buffer - 1);
    if (n < 0)
        return "premigrated";
    auto state = hsm::parse_state(std::string(buffer, static_cast<size_t>(n)));
    return state && state->file_id == header.file_id ? state->state : "premigrated";
}

int rebuild_command(CliContext& context, const CatalogArgs& args) {
    auto config = load_config_or_report(context);
    if (!config)
        return context.exit_code;
    auto catalog = hsm::Catalog::open(config->hsm.catalog_path(config->state_dir));
    if (!catalog)
        return report_error("catalog", catalog.error());
    std::unique_ptr<pool::PoolHandle> pool_handle;
    if (hsm::has_pool_target(config->hsm)) {
        auto handle = pool::open_configured_pool(config->pool, pool::PoolOpenMode::open);
        if (!handle)
            return report_error("catalog rebuild: a pool target needs the pool (stop `tiercel serve` first)",
                                handle.error());
        pool_handle = std::move(*handle);
    }
    auto targets = hsm::make_targets(config->hsm, pool_handle ? &pool_handle->pool() : nullptr,
                                     config->state_dir + "/hsm");
    if (!targets)
        return report_error("catalog rebuild", targets.error());
    hsm::Target* target = targets->find(args.target);
    if (!target)
        return report_error("catalog rebuild", make_error(Errc::invalid_input, "no target named " + args.target));
    auto keys = target->list();
    if (!keys)
        return report_error("catalog rebuild", keys.error());
    size_t imported = 0, failed = 0;
    for (const auto& key : *keys) {
        auto source = target->open(key);
        auto header = source ? hsm::read_header(**source) : Result<hsm::PayloadHeader>(source.error());
        auto table = header ? hsm::read_seek_table(**source) : Result<hsm::SeekTable>(header.error());
        Status done = table ? Status() : Status(table.error());
        if (done)
            done = catalog->import_payload(*header, state_from_file(*header),
                                           {header->file_id, header->version, target->name(), key,
                                            (*source)->size(), hsm::now_ns()},
                                           *table);
        if (!done) {
            ++failed;
            report_error("catalog rebuild: " + key, done.error());
        } else {
            ++imported;
        }
    }
    std::printf("rebuilt from target %s: %zu payloads recorded, %zu unreadable\n", args.target.c_str(), imported,
                failed);
    return failed ? kExitFailed : kExitOk;
}

}  // namespace

void add_catalog_command(CLI::App& app, CliContext& context) {
    auto args = std::make_shared<CatalogArgs>();
    CLI::App* catalog = app.add_subcommand("catalog", "Export or rebuild the HSM catalog.");
    catalog->require_subcommand(1);
    CLI::App* exporter = catalog->add_subcommand("export", "Write one row per archived copy to a file.");
    exporter->add_option("--format", args->format, "parquet, csv or jsonl")
        ->check(CLI::IsMember({"parquet", "csv", "jsonl"}));
    exporter->add_option("out", args->output, "Output file")->required();
    exporter->callback([&context, args] { context.exit_code = export_command(context, *args); });
    CLI::App* rebuild = catalog->add_subcommand("rebuild", "Re-read every payload header in a target into the catalog.");
    rebuild->add_option("--target", args->target, "Target name from [[hsm.target]]")->required();
    rebuild->callback([&context, args] { context.exit_code = rebuild_command(context, *args); });
}

}  // namespace tiercel::cli
