// Contract: a small RAII layer over the sqlite3 C API, so every SQLite user (HSM catalog, planner audit log, event
// log) opens, binds and steps the same way and reports failures as tiercel::Error naming the database file and the
// SQL that failed.
//  - Database::open() creates the file (and its parent directory must exist), switches to WAL with synchronous=FULL
//    (a committed transaction survives power loss) and sets a busy timeout. One Database object belongs to one thread
//    at a time (SQLITE_OPEN_NOMUTEX): give each thread its own connection, or funnel work through one writer thread.
//  - Statement binds by 1-based index; step() returns true while a row is available. Column accessors read the
//    current row (0-based, as sqlite3_column_*).
//  - Transaction commits only when commit() is called; destroying it uncommitted rolls back.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tiercel/core/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace tiercel::sqlite {

struct OpenOptions {
    bool read_only = false;
    bool wal = true;
    int busy_timeout_ms = 5000;
};

class Statement {
public:
    Statement() = default;
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    ~Statement();

    Statement& bind(int index, int64_t value);
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind_blob(int index, std::span<const std::byte> bytes);
    Statement& bind_null(int index);
    Statement& bind(int index, const std::optional<int64_t>& value);

    // true: a row is ready; false: done. Errors name the SQL and the database.
    Result<bool> step();
    // step() until done, for statements that return no rows.
    Status run();
    // Makes the statement ready to bind and step again.
    void reset();

    int column_count() const;
    bool is_null(int column) const;
    int64_t column_int64(int column) const;
    double column_double(int column) const;
    std::string column_text(int column) const;
    std::vector<std::byte> column_blob(int column) const;
    std::optional<int64_t> column_optional_int64(int column) const;

private:
    friend class Database;
    Statement(sqlite3_stmt* statement, sqlite3* db, std::string sql);
    Error error(std::string_view what) const;

    sqlite3_stmt* statement_ = nullptr;
    sqlite3* db_ = nullptr;
    std::string sql_;
    Error bind_error_;
    bool bind_failed_ = false;
};

class Database {
public:
    static Result<Database> open(const std::string& path, const OpenOptions& options = {});

    Database() = default;
    Database(Database&& other) noexcept;
    Database& operator=(Database&& other) noexcept;
    ~Database();

    // Runs one or more statements that return no rows (schema, pragmas).
    Status exec(std::string_view sql);
    Result<Statement> prepare(std::string_view sql);

    int64_t last_insert_rowid() const;
    int64_t changes() const;  // rows changed by the last statement
    const std::string& path() const { return path_; }
    sqlite3* handle() { return db_; }

    // PRAGMA user_version: the schema version, for migrations.
    Result<int64_t> user_version();
    Status set_user_version(int64_t version);

private:
    Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    sqlite3* db_ = nullptr;
    std::string path_;
};

class Transaction {
public:
    // BEGIN IMMEDIATE: takes the write lock now, so a busy database fails here rather than at commit.
    static Result<Transaction> begin(Database& db);
    Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();
    Status commit();

private:
    explicit Transaction(Database& db) : db_(&db) {}
    Database* db_;
};

}  // namespace tiercel::sqlite
