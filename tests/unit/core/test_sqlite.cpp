// The SQLite wrapper against a real database file: round trips, errors that name the file and the SQL, transactions
// that roll back unless committed, and a non-database file refused at open.
#include <doctest/doctest.h>

#include <fstream>

#include "../support/temp_dir.hpp"
#include "tiercel/core/sqlite.hpp"

using namespace tiercel;
using namespace tiercel::sqlite;

TEST_CASE("sqlite: values round-trip through bind and column") {
    testing::TempDir dir;
    auto db = Database::open(dir.path() + "/t.db");
    REQUIRE(db.ok());
    REQUIRE(db->exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, n INTEGER)").ok());
    auto insert = db->prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)");
    REQUIRE(insert.ok());
    std::vector<std::byte> blob{std::byte{0}, std::byte{0xff}, std::byte{7}};
    insert->bind(1, int64_t{-42}).bind(2, 2.5).bind(3, std::string_view("h\0i", 3)).bind_blob(4, blob);
    insert->bind(5, std::optional<int64_t>{});
    REQUIRE(insert->run().ok());
    CHECK(db->last_insert_rowid() == 1);
    CHECK(db->changes() == 1);

    auto select = db->prepare("SELECT i, d, s, b, n FROM t");
    REQUIRE(select.ok());
    auto row = select->step();
    REQUIRE(row.ok());
    REQUIRE(*row);
    CHECK(select->column_int64(0) == -42);
    CHECK(select->column_double(1) == 2.5);
    CHECK(select->column_text(2) == std::string("h\0i", 3));
    CHECK(select->column_blob(3) == blob);
    CHECK(select->is_null(4));
    CHECK_FALSE(select->column_optional_int64(4).has_value());
    auto end = select->step();
    REQUIRE(end.ok());
    CHECK_FALSE(*end);
}

TEST_CASE("sqlite: errors name the database and the SQL") {
    testing::TempDir dir;
    auto db = Database::open(dir.path() + "/t.db");
    REQUIRE(db.ok());
    auto bad = db->prepare("SELEC nonsense");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message().find("t.db") != std::string::npos);
    CHECK(bad.error().message().find("SELEC nonsense") != std::string::npos);

    REQUIRE(db->exec("CREATE TABLE u (k TEXT PRIMARY KEY)").ok());
    REQUIRE(db->exec("INSERT INTO u VALUES ('a')").ok());
    auto dup = db->prepare("INSERT INTO u VALUES (?)");
    REQUIRE(dup.ok());
    auto status = dup->bind(1, "a").run();
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code() == Errc::already_exists);

    auto unbound = db->prepare("SELECT ?1");
    REQUIRE(unbound.ok());
    unbound->bind(7, int64_t{1});  // no such parameter: reported by step()
    CHECK_FALSE(unbound->step().ok());
}

TEST_CASE("sqlite: a transaction rolls back unless committed, and data survives reopening") {
    testing::TempDir dir;
    std::string path = dir.path() + "/t.db";
    {
        auto db = Database::open(path);
        REQUIRE(db.ok());
        REQUIRE(db->exec("CREATE TABLE t (v INTEGER)").ok());
        {
            auto tx = Transaction::begin(*db);
            REQUIRE(tx.ok());
            REQUIRE(db->exec("INSERT INTO t VALUES (1)").ok());
        }  // rolled back
        auto tx = Transaction::begin(*db);
        REQUIRE(tx.ok());
        REQUIRE(db->exec("INSERT INTO t VALUES (2)").ok());
        REQUIRE(tx->commit().ok());
        REQUIRE(db->set_user_version(3).ok());
    }
    auto db = Database::open(path);
    REQUIRE(db.ok());
    CHECK(db->user_version().value_or(0) == 3);
    auto sum = db->prepare("SELECT count(*), sum(v) FROM t");
    REQUIRE(sum.ok());
    REQUIRE(sum->step().value_or(false));
    CHECK(sum->column_int64(0) == 1);
    CHECK(sum->column_int64(1) == 2);
}

TEST_CASE("sqlite: a file that is not a database is refused at open") {
    testing::TempDir dir;
    std::string path = dir.path() + "/garbage.db";
    std::ofstream(path) << std::string(4096, 'x');
    auto db = Database::open(path);
    REQUIRE_FALSE(db.ok());
    CHECK(db.error().code() == Errc::corruption);
    CHECK(db.error().message().find("garbage.db") != std::string::npos);
}
