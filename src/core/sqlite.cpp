#include "tiercel/core/sqlite.hpp"

#include <sqlite3.h>

#include <utility>

namespace tiercel::sqlite {
namespace {

Error sqlite_error(sqlite3* db, std::string_view what, std::string_view where) {
    const char* message = db ? sqlite3_errmsg(db) : "out of memory";
    int code = db ? sqlite3_extended_errcode(db) : SQLITE_NOMEM;
    Errc errc = Errc::io_error;
    switch (code & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED: errc = Errc::busy; break;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB: errc = Errc::corruption; break;
        case SQLITE_FULL: errc = Errc::no_space; break;
        case SQLITE_CONSTRAINT: errc = Errc::already_exists; break;
        case SQLITE_MISUSE:
        case SQLITE_ERROR: errc = Errc::internal; break;
        default: break;
    }
    return Error(errc, std::string(where) + ": " + std::string(what) + ": " + message);
}

}  // namespace

// ---- Statement ----

Statement::Statement(sqlite3_stmt* statement, sqlite3* db, std::string sql)
    : statement_(statement), db_(db), sql_(std::move(sql)) {}

Statement::Statement(Statement&& other) noexcept { *this = std::move(other); }

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        if (statement_)
            sqlite3_finalize(statement_);
        statement_ = std::exchange(other.statement_, nullptr);
        db_ = std::exchange(other.db_, nullptr);
        sql_ = std::move(other.sql_);
        bind_error_ = std::move(other.bind_error_);
        bind_failed_ = std::exchange(other.bind_failed_, false);
    }
    return *this;
}

Statement::~Statement() {
    if (statement_)
        sqlite3_finalize(statement_);
}

Error Statement::error(std::string_view what) const {
    return sqlite_error(db_, what, std::string(sqlite3_db_filename(db_, "main") ? sqlite3_db_filename(db_, "main")
                                                                                : "sqlite") +
                                       " [" + sql_ + "]");
}

// Bind failures are remembered and reported by the next step(), so call sites can chain binds.
#define TIERCEL_SQLITE_BIND(call)                           \
    do {                                                     \
        if ((call) != SQLITE_OK && !bind_failed_) {          \
            bind_failed_ = true;                             \
            bind_error_ = error("binding parameter " + std::to_string(index)); \
        }                                                    \
        return *this;                                        \
    } while (0)

Statement& Statement::bind(int index, int64_t value) {
    TIERCEL_SQLITE_BIND(sqlite3_bind_int64(statement_, index, value));
}
Statement& Statement::bind(int index, double value) {
    TIERCEL_SQLITE_BIND(sqlite3_bind_double(statement_, index, value));
}
Statement& Statement::bind(int index, std::string_view text) {
    TIERCEL_SQLITE_BIND(sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}
Statement& Statement::bind_blob(int index, std::span<const std::byte> bytes) {
    // A zero-length blob must still bind as a blob, not NULL: sqlite3 treats a null pointer as NULL.
    static const std::byte empty{};
    const void* data = bytes.empty() ? &empty : bytes.data();
    TIERCEL_SQLITE_BIND(sqlite3_bind_blob64(statement_, index, data, bytes.size(), SQLITE_TRANSIENT));
}
Statement& Statement::bind_null(int index) { TIERCEL_SQLITE_BIND(sqlite3_bind_null(statement_, index)); }
Statement& Statement::bind(int index, const std::optional<int64_t>& value) {
    return value ? bind(index, *value) : bind_null(index);
}
#undef TIERCEL_SQLITE_BIND

Result<bool> Statement::step() {
    if (bind_failed_)
        return bind_error_;
    int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    Error e = error("step");
    sqlite3_reset(statement_);
    return e;
}

Status Statement::run() {
    for (;;) {
        TIERCEL_ASSIGN(bool row, step());
        if (!row)
            return {};
    }
}

void Statement::reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
    bind_failed_ = false;
}

int Statement::column_count() const { return sqlite3_column_count(statement_); }
bool Statement::is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
int64_t Statement::column_int64(int column) const { return sqlite3_column_int64(statement_, column); }
double Statement::column_double(int column) const { return sqlite3_column_double(statement_, column); }

std::string Statement::column_text(int column) const {
    const unsigned char* text = sqlite3_column_text(statement_, column);
    int size = sqlite3_column_bytes(statement_, column);
    return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size)) : std::string();
}

std::vector<std::byte> Statement::column_blob(int column) const {
    const void* data = sqlite3_column_blob(statement_, column);
    int size = sqlite3_column_bytes(statement_, column);
    if (!data || size <= 0)
        return {};
    auto bytes = static_cast<const std::byte*>(data);
    return std::vector<std::byte>(bytes, bytes + size);
}

std::optional<int64_t> Statement::column_optional_int64(int column) const {
    if (is_null(column))
        return std::nullopt;
    return column_int64(column);
}

// ---- Database ----

Result<Database> Database::open(const std::string& path, const OpenOptions& options) {
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_NOMUTEX | (options.read_only ? SQLITE_OPEN_READONLY
                                                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        Error e = sqlite_error(db, "cannot open database", path);
        sqlite3_close(db);
        return e;
    }
    Database database(db, path);
    sqlite3_busy_timeout(db, options.busy_timeout_ms);
    sqlite3_extended_result_codes(db, 1);
    if (!options.read_only) {
        if (options.wal)
            TIERCEL_TRY(database.exec("PRAGMA journal_mode=WAL"));
        // FULL: a commit is on disk when it returns (WAL's default NORMAL may lose the last commits on power loss).
        TIERCEL_TRY(database.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON"));
    }
    // Reading the schema here turns "file is not a database" into an error at open, not at first use.
    TIERCEL_TRY(database.exec("SELECT count(*) FROM sqlite_schema"));
    return database;
}

Database::Database(Database&& other) noexcept { *this = std::move(other); }

Database& Database::operator=(Database&& other) noexcept {
    if (this != &other) {
        if (db_)
            sqlite3_close_v2(db_);
        db_ = std::exchange(other.db_, nullptr);
        path_ = std::move(other.path_);
    }
    return *this;
}

Database::~Database() {
    if (db_)
        sqlite3_close_v2(db_);
}

Status Database::exec(std::string_view sql) {
    std::string text(sql);
    char* message = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        sqlite3_free(message);
        return sqlite_error(db_, "[" + text + "]", path_);
    }
    return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr);
    if (rc != SQLITE_OK)
        return sqlite_error(db_, "preparing [" + std::string(sql) + "]", path_);
    return Statement(statement, db_, std::string(sql));
}

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int64_t Database::changes() const { return sqlite3_changes64(db_); }

Result<int64_t> Database::user_version() {
    TIERCEL_ASSIGN(auto statement, prepare("PRAGMA user_version"));
    TIERCEL_ASSIGN(bool row, statement.step());
    return row ? statement.column_int64(0) : 0;
}

Status Database::set_user_version(int64_t version) {
    return exec("PRAGMA user_version=" + std::to_string(version));
}

// ---- Transaction ----

Result<Transaction> Transaction::begin(Database& db) {
    TIERCEL_TRY(db.exec("BEGIN IMMEDIATE"));
    return Transaction(db);
}

Transaction::~Transaction() {
    if (db_)
        (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
    Database* db = std::exchange(db_, nullptr);
    if (!db)
        return Error(Errc::internal, "transaction already finished");
    Status status = db->exec("COMMIT");
    if (!status.ok())
        (void)db->exec("ROLLBACK");
    return status;
}

}  // namespace tiercel::sqlite
