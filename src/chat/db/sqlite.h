// A thin RAII layer over SQLite for the messenger's two stores (server and
// client). Unexpected SQLite failures throw DbError: they are rare (disk full,
// I/O error), cannot be handled locally, and the callers roll back the whole
// transaction at one place. Expected outcomes (no row, constraint) are values.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ferry::chat::db {

class DbError : public std::runtime_error {
 public:
  DbError(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql);  // throws DbError
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::string_view text);  // TEXT
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);

  // true: a row is ready; false: done. Throws DbError on failure, except a
  // constraint violation, reported by step_constraint() below.
  bool step();
  // Like step() for an INSERT/UPDATE: returns false on a UNIQUE/PRIMARY KEY
  // violation instead of throwing.
  bool step_constraint();
  void reset();  // also clears bindings

  int64_t int64(int col) const;
  std::string text(int col) const;
  std::string blob(int col) const;
  // No copy: valid until the next step() or reset(). For secrets, which
  // the caller copies straight into wiped memory.
  std::string_view blob_view(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  // Opens (creating with mode 0600 when missing) and sets WAL mode, the
  // given synchronous level and a busy timeout. nullopt + error on failure.
  static std::unique_ptr<Database> open(const std::string& path, std::string_view synchronous,
                                        std::string& error);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  void exec(std::string_view sql);  // throws DbError
  Statement prepare(std::string_view sql) { return Statement(db_, sql); }
  sqlite3* raw() { return db_; }
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }

  void begin() { exec("BEGIN IMMEDIATE"); }
  void commit() { exec("COMMIT"); }
  // Never throws: used on error paths.
  void rollback() noexcept;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// RAII transaction: commits on commit(), rolls back if destroyed before.
class Transaction {
 public:
  explicit Transaction(Database& db) : db_(db) { db_.begin(); }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (!done_) db_.rollback();
  }
  void commit() {
    db_.commit();
    done_ = true;
  }

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace ferry::chat::db
