#include "tiercel/core/config_reader.hpp"

#include "tiercel/core/units.hpp"

namespace tiercel {
namespace {

std::string_view type_name(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
    }
}

}  // namespace

void ConfigErrors::add(const toml::source_region& where, std::string_view key, std::string_view problem) {
    std::string message = file_;
    if (where.begin.line > 0)
        message += ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column);
    message += ": ";
    if (!key.empty()) {
        message += "key '";
        message += key;
        message += "': ";
    }
    message += problem;
    messages_.push_back(std::move(message));
}

TableReader::TableReader(const toml::table& table, std::string path, ConfigErrors& errors)
    : table_(table), path_(std::move(path)), errors_(errors) {}

std::string TableReader::full_key(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const toml::node* TableReader::lookup(std::string_view key) {
    known_.emplace(key);
    return table_.get(key);
}

void TableReader::fail(std::string_view key, std::string_view problem) {
    const toml::node* node = table_.get(key);
    errors_.add(node ? node->source() : table_.source(), full_key(key), problem);
}

void TableReader::wrong_type(std::string_view key, const toml::node& node, std::string_view expected) {
    errors_.add(node.source(), full_key(key),
                "must be " + std::string(expected) + ", got " + std::string(type_name(node)));
}

void TableReader::read_string(std::string_view key, std::string& out) {
    const toml::node* node = lookup(key);
    if (!node)
        return;
    if (auto value = node->value<std::string>(); value && node->is_string())
        out = *value;
    else
        wrong_type(key, *node, "a string");
}

void TableReader::read_bool(std::string_view key, bool& out) {
    const toml::node* node = lookup(key);
    if (!node)
        return;
    if (node->is_boolean())
        out = *node->value<bool>();
    else
        wrong_type(key, *node, "a boolean (true or false)");
}

void TableReader::read_int(std::string_view key, int64_t& out, int64_t min, int64_t max) {
    const toml::node* node = lookup(key);
    if (!node)
        return;
    if (!node->is_integer())
        return wrong_type(key, *node, "an integer");
    int64_t value = *node->value<int64_t>();
    if (value < min || value > max)
        return fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                             std::to_string(value));
    out = value;
}

void TableReader::read_size(std::string_view key, uint64_t& out) {
    std::optional<uint64_t> value;
    read_optional_size(key, value);
    if (value)
        out = *value;
}

void TableReader::read_optional_size(std::string_view key, std::optional<uint64_t>& out) {
    const toml::node* node = lookup(key);
    if (!node)
        return;
    if (node->is_integer()) {
        int64_t value = *node->value<int64_t>();
        if (value < 0)
            return fail(key, "must not be negative");
        out = static_cast<uint64_t>(value);
        return;
    }
    if (!node->is_string())
        return wrong_type(key, *node, "a size string like \"1MiB\" or an integer");
    auto parsed = parse_size(*node->value<std::string>());
    if (!parsed)
        return fail(key, parsed.error().message());
    out = *parsed;
}

void TableReader::read_duration(std::string_view key, std::chrono::milliseconds& out) {
    const toml::node* node = lookup(key);
    if (!node)
        return;
    if (!node->is_string())
        return wrong_type(key, *node, "a duration string like \"10m\"");
    auto parsed = parse_duration(*node->value<std::string>());
    if (!parsed)
        return fail(key, parsed.error().message());
    out = *parsed;
}

void TableReader::read_percent(std::string_view key, double& out) {
    const toml::node* node = lookup(key);
    if (!node)
        return;
    if (!node->is_string())
        return wrong_type(key, *node, "a percentage string like \"85%\"");
    auto parsed = parse_percent(*node->value<std::string>());
    if (!parsed)
        return fail(key, parsed.error().message());
    out = *parsed;
}

void TableReader::read_string_list(std::string_view key, std::vector<std::string>& out) {
    const toml::node* node = lookup(key);
    if (!node)
        return;
    const toml::array* array = node->as_array();
    if (!array)
        return wrong_type(key, *node, "an array of strings");
    std::vector<std::string> values;
    for (const toml::node& element : *array) {
        if (!element.is_string())
            return wrong_type(key, element, "an array of strings");
        values.push_back(*element.value<std::string>());
    }
    out = std::move(values);
}

void TableReader::read_choice(std::string_view key, std::string& out, const std::vector<std::string>& allowed) {
    read_checked_string(key, out, [&](const std::string& value) -> std::string {
        for (const auto& candidate : allowed)
            if (candidate == value)
                return "";
        std::string list;
        for (const auto& candidate : allowed)
            list += (list.empty() ? "" : ", ") + candidate;
        return "'" + value + "' is not one of: " + list;
    });
}

void TableReader::read_checked_string(std::string_view key, std::string& out,
                                      const std::function<std::string(const std::string&)>& validate) {
    std::string value = out;
    const toml::node* node = table_.get(key);
    read_string(key, value);
    if (!node || !node->is_string())
        return;
    if (std::string problem = validate(value); !problem.empty())
        return fail(key, problem);
    out = value;
}

const toml::table* TableReader::sub_table(std::string_view key) {
    const toml::node* node = lookup(key);
    if (!node)
        return nullptr;
    if (!node->is_table()) {
        wrong_type(key, *node, "a table");
        return nullptr;
    }
    return node->as_table();
}

std::vector<const toml::table*> TableReader::table_array(std::string_view key) {
    std::vector<const toml::table*> tables;
    const toml::node* node = lookup(key);
    if (!node)
        return tables;
    const toml::array* array = node->as_array();
    if (!array || !array->is_array_of_tables()) {
        wrong_type(key, *node, "an array of tables ([[" + full_key(key) + "]])");
        return tables;
    }
    for (const toml::node& element : *array)
        tables.push_back(element.as_table());
    return tables;
}

void TableReader::finish() {
    for (const auto& [key, node] : table_) {
        if (known_.count(key.str()))
            continue;
        std::string known_list;
        for (const auto& name : known_)
            known_list += (known_list.empty() ? "" : ", ") + name;
        errors_.add(key.source().begin.line > 0 ? key.source() : node.source(), full_key(key.str()),
                    "unknown key" + (known_list.empty() ? std::string() : " (known here: " + known_list + ")"));
    }
}

}  // namespace tiercel
