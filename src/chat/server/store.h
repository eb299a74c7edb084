// The server's durable state in one SQLite file (WAL): accounts, prekeys and
// the per-recipient queues of opaque envelopes.
//
// Not thread-safe: exactly one thread (the StoreWorker) uses it, and every
// call runs inside the transaction the worker opened, so a batch of requests
// becomes durable (or not) as a whole. Unexpected SQLite failures throw
// db::DbError; the worker rolls the batch back and calls on_rollback().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chat/db/sqlite.h"
#include "chat/proto/messages.h"

namespace ferry::chat::server {

struct Account {
  int64_t id = 0;
  std::string username;
  std::string login_key;     // the Noise static public key that logs in
  std::string identity_key;  // the public identity key (X3DH), opaque here
};

struct StoredEnvelope {
  int64_t id = 0;
  std::string sender;
  uint64_t client_id = 0;
  std::string content;
  int64_t stored_at_ms = 0;
};

struct StoreLimits {
  uint32_t max_one_time_prekeys = 1000;          // per account; uploads beyond it are dropped
  int64_t max_queue = 100'000;                   // envelopes waiting per recipient
  int64_t max_queue_bytes = int64_t{64} << 20;   // content bytes waiting per recipient
  int64_t max_sender_bytes = int64_t{64} << 20;  // a sender's content not yet acknowledged
  uint64_t min_free_disk = uint64_t{256} << 20;  // Sends refused below this much free space
  int64_t max_wal_pages = 32'768;  // the writer truncates the WAL beyond this (128 MiB)
};

class ServerStore {
 public:
  // `synchronous`: SQLite's PRAGMA synchronous ("FULL": a commit survives a
  // power cut; "NORMAL": survives a crash of the process only).
  static std::unique_ptr<ServerStore> open(const std::string& path, std::string_view synchronous,
                                           const StoreLimits& limits, std::string& error);
  ServerStore(const ServerStore&) = delete;
  ServerStore& operator=(const ServerStore&) = delete;

  db::Database& db() { return *db_; }
  // After a commit: if the WAL outgrew the limit (the background
  // checkpointer could not keep up), truncate it now, blocking.
  void limit_wal();
  // Cached counts may be wrong after a rollback: forget them.
  void on_rollback() {
    queue_usage_.clear();
    sender_bytes_.clear();
    accounts_by_name_.clear();
  }

  std::optional<Account> account_by_login(std::string_view login_key);
  std::optional<Account> account_by_name(std::string_view username);

  enum class RegisterStatus : uint8_t { created, unchanged, login_has_other_name, username_taken };
  struct RegisterResult {
    RegisterStatus status = RegisterStatus::created;
    Account account;  // set for created and unchanged
  };
  // Idempotent for the same (login, username, identity key).
  RegisterResult register_account(std::string_view login_key, std::string_view username,
                                  std::string_view identity_key, int64_t now_ms);

  // Replaces the signed prekey if given, adds one-time prekeys (same id:
  // replaced) up to the limit. Returns how many one-time prekeys are held.
  uint32_t store_prekeys(int64_t account_id, const pb::UploadPrekeys& upload);
  uint32_t count_one_time_prekeys(int64_t account_id);

  enum class BundleStatus : uint8_t { ok, unknown_user, no_signed_prekey };
  struct BundleResult {
    BundleStatus status = BundleStatus::unknown_user;
    pb::PrekeyBundle bundle;
    int64_t owner_id = 0;
    uint32_t remaining = 0;  // one-time prekeys left for the owner after this
  };
  // Hands out one one-time prekey (the oldest id) and deletes it.
  // `one_time`: false hands out the bundle without a one-time prekey.
  BundleResult take_bundle(std::string_view username, bool one_time = true);

  enum class EnqueueStatus : uint8_t {
    stored,
    duplicate,
    unknown_recipient,
    queue_full,    // the recipient's queue is at max_queue or max_queue_bytes
    sender_quota,  // the sender has max_sender_bytes not yet acknowledged
    storage_full,  // less than min_free_disk left where the database is
    identity_mismatch
  };
  struct EnqueueResult {
    EnqueueStatus status = EnqueueStatus::unknown_recipient;
    int64_t envelope_id = 0;
    int64_t recipient_id = 0;
  };
  // (sender, client_id) is unique: a resend returns the first copy's id.
  // `expected_identity` (if not empty) must be the recipient's identity key.
  EnqueueResult enqueue(int64_t sender_id, std::string_view recipient, uint64_t client_id,
                        std::string_view content, int64_t now_ms,
                        std::string_view expected_identity = {});

  // Up to `limit` envelopes for `recipient_id` with id > after_id, oldest first.
  std::vector<StoredEnvelope> load(int64_t recipient_id, int64_t after_id, size_t limit);

  // Deletes those of `ids` queued for `recipient_id` (others are ignored).
  // Returns how many were deleted.
  size_t ack(int64_t recipient_id, std::span<const uint64_t> ids);

  int64_t queue_length(int64_t recipient_id) { return queue_usage(recipient_id).count; }
  int64_t queue_bytes(int64_t recipient_id) { return queue_usage(recipient_id).bytes; }
  int64_t sender_bytes(int64_t sender_id);

 private:
  ServerStore(std::unique_ptr<db::Database> db, const StoreLimits& limits, std::string dir);
  void create_schema();
  void prepare_statements();
  Account read_account(db::Statement& st);
  bool find_duplicate(int64_t sender_id, int64_t client_id, EnqueueResult& r);
  const Account* cached_account(std::string_view username);
  struct Usage {
    int64_t count = 0;
    int64_t bytes = 0;
  };
  Usage& queue_usage(int64_t recipient_id);
  // Free space where the database is, looked up at most once a second.
  bool disk_nearly_full(int64_t now_ms);

  std::unique_ptr<db::Database> db_;
  StoreLimits limits_;
  std::string dir_;  // where the database file is (for its free space)
  std::unordered_map<int64_t, Usage> queue_usage_;     // recipient -> queued, cached
  std::unordered_map<int64_t, int64_t> sender_bytes_;  // sender -> not yet acked, cached
  int64_t disk_checked_ms_ = -1;
  bool disk_nearly_full_ = false;
  int64_t wal_pages_ = 0;  // after the last commit
  std::unordered_map<std::string, Account> accounts_by_name_;

  db::Statement account_by_login_, account_by_name_, insert_account_;
  db::Statement upsert_signed_, insert_one_time_, count_one_time_, has_one_time_;
  db::Statement select_signed_, select_one_time_, delete_one_time_;
  db::Statement insert_envelope_, find_duplicate_, load_, delete_envelope_, count_queue_;
  db::Statement sum_sender_;
};

}  // namespace ferry::chat::server
