#include "chat/server/store.h"

#include <sys/statvfs.h>

#include <algorithm>

namespace ferry::chat::server {
namespace {

constexpr int kSchemaVersion = 1;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS accounts(
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  login_key BLOB NOT NULL UNIQUE,
  identity_key BLOB NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS signed_prekeys(
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS one_time_prekeys(
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  PRIMARY KEY(account_id, key_id)) WITHOUT ROWID;
-- AUTOINCREMENT: ids are never reused, so they increase in the order stored
-- for the whole life of the database (clients ack and order by them).
CREATE TABLE IF NOT EXISTS envelopes(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient_id INTEGER NOT NULL,
  sender_id INTEGER NOT NULL,
  client_id INTEGER NOT NULL,
  content BLOB NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS envelopes_by_recipient ON envelopes(recipient_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS envelopes_by_sender ON envelopes(sender_id, client_id);
)sql";

std::string_view blob_view(const std::string& s) {
  return s;
}

}  // namespace

std::unique_ptr<ServerStore> ServerStore::open(const std::string& path,
                                               std::string_view synchronous,
                                               const StoreLimits& limits, std::string& error) {
  auto db = db::Database::open(path, synchronous, error);
  if (!db) return nullptr;
  try {
    std::string dir = path.substr(0, path.find_last_of('/') + 1);
    std::unique_ptr<ServerStore> store(
        new ServerStore(std::move(db), limits, dir.empty() ? "." : dir));
    // Checkpoints happen in the Checkpointer, not inside our commits; the
    // hook (which replaces SQLite's auto-checkpoint) only notes the WAL's size.
    sqlite3_wal_hook(
        store->db_->raw(),
        [](void* self, sqlite3*, const char*, int pages) {
          static_cast<ServerStore*>(self)->wal_pages_ = pages;
          return SQLITE_OK;
        },
        store.get());
    store->create_schema();
    store->prepare_statements();
    return store;
  } catch (const db::DbError& e) {
    error = path + ": " + e.what();
    return nullptr;
  }
}

ServerStore::ServerStore(std::unique_ptr<db::Database> db, const StoreLimits& limits,
                         std::string dir)
    : db_(std::move(db)), limits_(limits), dir_(std::move(dir)) {}

void ServerStore::create_schema() {
  auto version = db_->prepare("PRAGMA user_version");
  version.step();
  int64_t v = version.int64(0);
  if (v > kSchemaVersion)
    throw db::DbError("database is from a newer ferry-server (schema " + std::to_string(v) + ")",
                      0);
  db::Transaction tx(*db_);
  db_->exec(kSchema);
  db_->exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
  tx.commit();
}

void ServerStore::prepare_statements() {
  const char* cols = "SELECT id, username, login_key, identity_key FROM accounts ";
  account_by_login_ = db_->prepare(std::string(cols) + "WHERE login_key=?1");
  account_by_name_ = db_->prepare(std::string(cols) + "WHERE username=?1");
  insert_account_ = db_->prepare(
      "INSERT INTO accounts(username, login_key, identity_key, created_ms) VALUES(?1,?2,?3,?4)");
  upsert_signed_ = db_->prepare(
      "INSERT OR REPLACE INTO signed_prekeys(account_id, key_id, public_key, signature) "
      "VALUES(?1,?2,?3,?4)");
  insert_one_time_ = db_->prepare(
      "INSERT OR REPLACE INTO one_time_prekeys(account_id, key_id, public_key) VALUES(?1,?2,?3)");
  count_one_time_ = db_->prepare("SELECT count(*) FROM one_time_prekeys WHERE account_id=?1");
  has_one_time_ = db_->prepare("SELECT 1 FROM one_time_prekeys WHERE account_id=?1 AND key_id=?2");
  select_signed_ =
      db_->prepare("SELECT key_id, public_key, signature FROM signed_prekeys WHERE account_id=?1");
  select_one_time_ = db_->prepare(
      "SELECT key_id, public_key FROM one_time_prekeys WHERE account_id=?1 ORDER BY key_id "
      "LIMIT 1");
  delete_one_time_ = db_->prepare("DELETE FROM one_time_prekeys WHERE account_id=?1 AND key_id=?2");
  insert_envelope_ = db_->prepare(
      "INSERT INTO envelopes(recipient_id, sender_id, client_id, content, created_ms) "
      "VALUES(?1,?2,?3,?4,?5)");
  find_duplicate_ =
      db_->prepare("SELECT id, recipient_id FROM envelopes WHERE sender_id=?1 AND client_id=?2");
  load_ = db_->prepare(
      "SELECT e.id, a.username, e.client_id, e.content, e.created_ms FROM envelopes e "
      "JOIN accounts a ON a.id = e.sender_id "
      "WHERE e.recipient_id=?1 AND e.id>?2 ORDER BY e.id LIMIT ?3");
  delete_envelope_ = db_->prepare(
      "DELETE FROM envelopes WHERE id=?1 AND recipient_id=?2 RETURNING sender_id, length(content)");
  count_queue_ = db_->prepare(
      "SELECT count(*), coalesce(sum(length(content)), 0) FROM envelopes WHERE recipient_id=?1");
  sum_sender_ =
      db_->prepare("SELECT coalesce(sum(length(content)), 0) FROM envelopes WHERE sender_id=?1");
}

void ServerStore::limit_wal() {
  if (wal_pages_ <= limits_.max_wal_pages) return;
  wal_pages_ = 0;
  sqlite3_wal_checkpoint_v2(db_->raw(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
}

Account ServerStore::read_account(db::Statement& st) {
  return Account{st.int64(0), st.text(1), st.blob(2), st.blob(3)};
}

std::optional<Account> ServerStore::account_by_login(std::string_view login_key) {
  account_by_login_.reset();
  account_by_login_.bind_blob(1, login_key);
  if (!account_by_login_.step()) return std::nullopt;
  Account a = read_account(account_by_login_);
  account_by_login_.reset();
  return a;
}

std::optional<Account> ServerStore::account_by_name(std::string_view username) {
  account_by_name_.reset();
  account_by_name_.bind(1, username);
  if (!account_by_name_.step()) return std::nullopt;
  Account a = read_account(account_by_name_);
  account_by_name_.reset();
  return a;
}

ServerStore::RegisterResult ServerStore::register_account(std::string_view login_key,
                                                          std::string_view username,
                                                          std::string_view identity_key,
                                                          int64_t now_ms) {
  if (auto mine = account_by_login(login_key)) {
    if (mine->username == username && mine->identity_key == identity_key)
      return {RegisterStatus::unchanged, *mine};
    return {RegisterStatus::login_has_other_name, {}};
  }
  if (account_by_name(username)) return {RegisterStatus::username_taken, {}};
  insert_account_.reset();
  insert_account_.bind(1, username).bind_blob(2, login_key).bind_blob(3, identity_key);
  insert_account_.bind(4, now_ms);
  if (!insert_account_.step_constraint()) return {RegisterStatus::username_taken, {}};
  Account a{db_->last_insert_rowid(), std::string(username), std::string(login_key),
            std::string(identity_key)};
  return {RegisterStatus::created, a};
}

uint32_t ServerStore::count_one_time_prekeys(int64_t account_id) {
  count_one_time_.reset();
  count_one_time_.bind(1, account_id);
  count_one_time_.step();
  auto n = static_cast<uint32_t>(count_one_time_.int64(0));
  count_one_time_.reset();
  return n;
}

uint32_t ServerStore::store_prekeys(int64_t account_id, const pb::UploadPrekeys& upload) {
  if (upload.has_signed_prekey()) {
    const auto& s = upload.signed_prekey();
    upsert_signed_.reset();
    upsert_signed_.bind(1, account_id).bind(2, int64_t{s.id()});
    upsert_signed_.bind_blob(3, blob_view(s.public_key())).bind_blob(4, blob_view(s.signature()));
    upsert_signed_.step();
  }
  uint32_t held = count_one_time_prekeys(account_id);
  for (const auto& k : upload.one_time_prekeys()) {
    // An id already held is replaced, which takes no room: only new ids
    // count against the cap.
    has_one_time_.reset();
    has_one_time_.bind(1, account_id).bind(2, int64_t{k.id()});
    const bool replaces = has_one_time_.step();
    has_one_time_.reset();
    if (!replaces && held >= limits_.max_one_time_prekeys) continue;
    insert_one_time_.reset();
    insert_one_time_.bind(1, account_id).bind(2, int64_t{k.id()});
    insert_one_time_.bind_blob(3, blob_view(k.public_key()));
    insert_one_time_.step();
    if (!replaces) ++held;
  }
  return held;
}

ServerStore::BundleResult ServerStore::take_bundle(std::string_view username, bool one_time) {
  BundleResult r;
  auto owner = account_by_name(username);
  if (!owner) return r;
  r.owner_id = owner->id;
  select_signed_.reset();
  select_signed_.bind(1, owner->id);
  if (!select_signed_.step()) {
    r.status = BundleStatus::no_signed_prekey;
    return r;
  }
  r.status = BundleStatus::ok;
  r.bundle.set_username(owner->username);
  r.bundle.set_identity_key(owner->identity_key);
  auto* spk = r.bundle.mutable_signed_prekey();
  spk->set_id(static_cast<uint32_t>(select_signed_.int64(0)));
  spk->set_public_key(select_signed_.blob(1));
  spk->set_signature(select_signed_.blob(2));
  select_signed_.reset();

  select_one_time_.reset();
  select_one_time_.bind(1, owner->id);
  if (one_time && select_one_time_.step()) {
    auto id = select_one_time_.int64(0);
    auto* otk = r.bundle.mutable_one_time_prekey();
    otk->set_id(static_cast<uint32_t>(id));
    otk->set_public_key(select_one_time_.blob(1));
    select_one_time_.reset();
    delete_one_time_.reset();
    delete_one_time_.bind(1, owner->id).bind(2, id);
    delete_one_time_.step();
  }
  r.remaining = count_one_time_prekeys(owner->id);
  return r;
}

ServerStore::Usage& ServerStore::queue_usage(int64_t recipient_id) {
  auto it = queue_usage_.find(recipient_id);
  if (it != queue_usage_.end()) return it->second;
  count_queue_.reset();
  count_queue_.bind(1, recipient_id);
  count_queue_.step();
  Usage u{count_queue_.int64(0), count_queue_.int64(1)};
  count_queue_.reset();
  return queue_usage_.emplace(recipient_id, u).first->second;
}

int64_t ServerStore::sender_bytes(int64_t sender_id) {
  auto it = sender_bytes_.find(sender_id);
  if (it != sender_bytes_.end()) return it->second;
  sum_sender_.reset();
  sum_sender_.bind(1, sender_id);
  sum_sender_.step();
  int64_t n = sum_sender_.int64(0);
  sum_sender_.reset();
  sender_bytes_.emplace(sender_id, n);
  return n;
}

bool ServerStore::disk_nearly_full(int64_t now_ms) {
  if (limits_.min_free_disk == 0) return false;
  if (disk_checked_ms_ >= 0 && now_ms >= disk_checked_ms_ && now_ms - disk_checked_ms_ < 1000)
    return disk_nearly_full_;
  disk_checked_ms_ = now_ms;
  struct statvfs fs {};
  // A statvfs that fails says nothing about the space: carry on.
  disk_nearly_full_ = ::statvfs(dir_.c_str(), &fs) == 0 &&
                      static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize < limits_.min_free_disk;
  return disk_nearly_full_;
}

ServerStore::EnqueueResult ServerStore::enqueue(int64_t sender_id, std::string_view recipient,
                                                uint64_t client_id, std::string_view content,
                                                int64_t now_ms,
                                                std::string_view expected_identity) {
  EnqueueResult r;
  auto cid = static_cast<int64_t>(client_id);
  const Account* to = cached_account(recipient);
  if (!to) {
    // A resend may name a user that is gone; its first copy still counts.
    if (find_duplicate(sender_id, cid, r)) return r;
    return r;
  }
  r.recipient_id = to->id;
  if (!expected_identity.empty() && expected_identity != to->identity_key) {
    if (find_duplicate(sender_id, cid, r)) return r;
    r.status = EnqueueStatus::identity_mismatch;
    return r;
  }
  // Quotas, so that no client can fill the disk: per recipient (count and
  // bytes), per sender (bytes not yet acknowledged) and the disk itself.
  Usage& queued = queue_usage(to->id);
  const auto size = static_cast<int64_t>(content.size());
  EnqueueStatus refusal = EnqueueStatus::stored;
  if (queued.count >= limits_.max_queue || queued.bytes + size > limits_.max_queue_bytes) {
    refusal = EnqueueStatus::queue_full;
  } else if (sender_bytes(sender_id) + size > limits_.max_sender_bytes) {
    refusal = EnqueueStatus::sender_quota;
  } else if (disk_nearly_full(now_ms)) {
    refusal = EnqueueStatus::storage_full;
  }
  if (refusal != EnqueueStatus::stored) {
    if (find_duplicate(sender_id, cid, r)) return r;
    r.status = refusal;
    return r;
  }
  // Insert first; the unique (sender, client_id) index catches a resend, so
  // the common case costs one statement.
  insert_envelope_.reset();
  insert_envelope_.bind(1, to->id).bind(2, sender_id).bind(3, cid);
  insert_envelope_.bind_blob(4, content).bind(5, now_ms);
  if (!insert_envelope_.step_constraint()) {
    find_duplicate(sender_id, cid, r);
    return r;
  }
  queued.count += 1;
  queued.bytes += size;
  sender_bytes_[sender_id] += size;  // the sum was cached just above
  r.status = EnqueueStatus::stored;
  r.envelope_id = db_->last_insert_rowid();
  return r;
}

bool ServerStore::find_duplicate(int64_t sender_id, int64_t client_id, EnqueueResult& r) {
  find_duplicate_.reset();
  find_duplicate_.bind(1, sender_id).bind(2, client_id);
  if (!find_duplicate_.step()) return false;
  r.status = EnqueueStatus::duplicate;
  r.envelope_id = find_duplicate_.int64(0);
  r.recipient_id = find_duplicate_.int64(1);
  find_duplicate_.reset();
  return true;
}

const Account* ServerStore::cached_account(std::string_view username) {
  auto it = accounts_by_name_.find(std::string(username));
  if (it != accounts_by_name_.end()) return &it->second;
  auto a = account_by_name(username);
  if (!a) return nullptr;
  // Accounts never change once made; a bounded cache of the recent ones.
  if (accounts_by_name_.size() >= 100'000) accounts_by_name_.clear();
  return &accounts_by_name_.emplace(a->username, std::move(*a)).first->second;
}

std::vector<StoredEnvelope> ServerStore::load(int64_t recipient_id, int64_t after_id,
                                              size_t limit) {
  std::vector<StoredEnvelope> out;
  load_.reset();
  load_.bind(1, recipient_id).bind(2, after_id).bind(3, static_cast<int64_t>(limit));
  while (load_.step()) {
    out.push_back(StoredEnvelope{load_.int64(0), load_.text(1),
                                 static_cast<uint64_t>(load_.int64(2)), load_.blob(3),
                                 load_.int64(4)});
  }
  load_.reset();
  return out;
}

size_t ServerStore::ack(int64_t recipient_id, std::span<const uint64_t> ids) {
  size_t deleted = 0;
  auto queued = queue_usage_.find(recipient_id);
  for (uint64_t id : ids) {
    if (id > static_cast<uint64_t>(INT64_MAX)) continue;
    delete_envelope_.reset();
    delete_envelope_.bind(1, static_cast<int64_t>(id)).bind(2, recipient_id);
    if (!delete_envelope_.step()) continue;  // not queued for this recipient
    ++deleted;
    const int64_t sender = delete_envelope_.int64(0);
    const int64_t size = delete_envelope_.int64(1);
    if (queued != queue_usage_.end()) {
      queued->second.count = std::max<int64_t>(0, queued->second.count - 1);
      queued->second.bytes = std::max<int64_t>(0, queued->second.bytes - size);
    }
    if (auto it = sender_bytes_.find(sender); it != sender_bytes_.end())
      it->second = std::max<int64_t>(0, it->second - size);
  }
  delete_envelope_.reset();
  return deleted;
}

}  // namespace ferry::chat::server
