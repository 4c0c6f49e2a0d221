// Contract: strict, located reading of one TOML table into typed fields.
// Each section parser (core, pool, hsm, ...) declares the keys it knows by reading them through a TableReader; any
// key it never asked for is reported as unknown when finish() runs. Every problem is recorded with the file, line,
// column and full dotted key ("tiercel.toml:7:1: [http] listen: ..."), and parsing continues so the user sees all
// problems at once. A reader never throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

namespace tiercel {

class ConfigErrors {
public:
    explicit ConfigErrors(std::string file) : file_(std::move(file)) {}
    void add(const toml::source_region& where, std::string_view key, std::string_view problem);
    bool empty() const { return messages_.empty(); }
    const std::vector<std::string>& messages() const { return messages_; }
    const std::string& file() const { return file_; }

private:
    std::string file_;
    std::vector<std::string> messages_;
};

class TableReader {
public:
    // `path` is the dotted name of this table ("" for the root, "http", "pool.disk[2]").
    TableReader(const toml::table& table, std::string path, ConfigErrors& errors);

    void read_string(std::string_view key, std::string& out);
    void read_bool(std::string_view key, bool& out);
    void read_int(std::string_view key, int64_t& out, int64_t min, int64_t max);
    void read_size(std::string_view key, uint64_t& out);  // "1MiB" or an integer count of bytes
    void read_optional_size(std::string_view key, std::optional<uint64_t>& out);
    void read_duration(std::string_view key, std::chrono::milliseconds& out);
    void read_percent(std::string_view key, double& out);
    void read_string_list(std::string_view key, std::vector<std::string>& out);
    // One of `allowed`; the error lists them.
    void read_choice(std::string_view key, std::string& out, const std::vector<std::string>& allowed);
    // A custom check on a string value; `validate` returns an error message or "".
    void read_checked_string(std::string_view key, std::string& out,
                             const std::function<std::string(const std::string&)>& validate);

    // Sub-table: nullptr when absent (a non-table value is reported).
    const toml::table* sub_table(std::string_view key);
    // Array of tables ([[pool.disk]]): empty when absent.
    std::vector<const toml::table*> table_array(std::string_view key);

    // Reports a problem located at `key` (or the table itself when the key is absent).
    void fail(std::string_view key, std::string_view problem);
    std::string full_key(std::string_view key) const;
    // Reports every key that no read_* call asked for.
    void finish();

    ConfigErrors& errors() { return errors_; }

private:
    const toml::node* lookup(std::string_view key);
    void wrong_type(std::string_view key, const toml::node& node, std::string_view expected);

    const toml::table& table_;
    std::string path_;
    ConfigErrors& errors_;
    std::set<std::string, std::less<>> known_;
};

}  // namespace tiercel
