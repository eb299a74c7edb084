#include "chat/client/store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace ferry::chat::client {
namespace {

// 2: held messages keyed by a local id and (sender, client_id), not by the
// server's envelope id (a server that lost its database reuses those).
constexpr int kSchemaVersion = 2;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS signed_prekeys(
  id INTEGER PRIMARY KEY, data BLOB NOT NULL, created_ms INTEGER NOT NULL);
-- When the server started handing out a newer signed prekey than this one.
CREATE TABLE IF NOT EXISTS signed_prekeys_replaced(
  id INTEGER PRIMARY KEY, replaced_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS one_time_prekeys(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
-- The X3DH base key (EK_A) of every prekey message that started a session
-- here: a replay is a duplicate however old (32 bytes per session ever made).
CREATE TABLE IF NOT EXISTS accepted_base_keys(base_key BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contacts(
  username TEXT PRIMARY KEY, identity_key BLOB NOT NULL, pending_identity_key BLOB);
CREATE TABLE IF NOT EXISTS sessions(
  id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL, state BLOB NOT NULL,
  used INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions(username, used);
CREATE TABLE IF NOT EXISTS outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL,
  client_id INTEGER NOT NULL UNIQUE, kind INTEGER NOT NULL, body BLOB NOT NULL, sealed BLOB,
  state INTEGER NOT NULL, text TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_queued ON outbox(state, seq);
CREATE TABLE IF NOT EXISTS inbox(
  id INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT NOT NULL, client_id INTEGER NOT NULL,
  text TEXT NOT NULL, sent_at_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,
  shown INTEGER NOT NULL DEFAULT 0, UNIQUE(sender, client_id));
CREATE TABLE IF NOT EXISTS held_messages(
  id INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT NOT NULL, client_id INTEGER NOT NULL,
  content BLOB NOT NULL, UNIQUE(sender, client_id));
)sql";

// Version 1 kept held messages by the server's envelope id.
constexpr std::string_view kHeldFromVersion1 = R"sql(
INSERT OR IGNORE INTO held_messages(sender, client_id, content)
  SELECT sender, client_id, content FROM held ORDER BY envelope_id;
DROP TABLE held;
)sql";

// Keep only the few most recent sessions per contact (simultaneous starts
// and re-installs make more than one; old ones only decrypt stragglers).
constexpr int kSessionsKept = 5;

int64_t as_i64(uint64_t v) {
  return static_cast<int64_t>(v);
}
uint64_t as_u64(int64_t v) {
  return static_cast<uint64_t>(v);
}

// Straight from SQLite's row into wiped memory: no std::string copy between.
crypto::SecretBytes secret_blob(const db::Statement& st, int col) {
  return crypto::to_secret(crypto::as_bytes(st.blob_view(col)));
}

}  // namespace

std::unique_ptr<ClientStore> ClientStore::open(const std::string& home, std::string& error) {
  if (::mkdir(home.c_str(), 0700) != 0 && errno != EEXIST) {
    error = "cannot create " + home + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat st {};
  if (::stat(home.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = home + " is not a directory";
    return nullptr;
  }
  if ((st.st_mode & 077) != 0) ::chmod(home.c_str(), st.st_mode & 0700);
  auto db = db::Database::open(home + "/ferry.db", "FULL", error);
  if (!db) return nullptr;
  std::unique_ptr<ClientStore> store(new ClientStore(home, std::move(db)));
  try {
    store->create_schema();
  } catch (const db::DbError& e) {
    error = home + "/ferry.db: " + e.what();
    return nullptr;
  }
  return store;
}

void ClientStore::create_schema() {
  const int64_t version = [&] {
    auto v = db_->prepare("PRAGMA user_version");  // finished here: DROP TABLE needs none open
    v.step();
    return v.int64(0);
  }();
  if (version > kSchemaVersion)
    throw db::DbError("made by a newer ferry; upgrade ferry to use it", 0);
  db::Transaction tx(*db_);
  db_->exec(kSchema);
  if (version == 1) db_->exec(kHeldFromVersion1);
  db_->exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
  tx.commit();
}

void ClientStore::checkpoint() {
  db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

std::optional<std::string> ClientStore::get(std::string_view key) {
  auto st = db_->prepare("SELECT value FROM settings WHERE key=?1");
  st.bind(1, key);
  if (!st.step()) return std::nullopt;
  return st.blob(0);
}

std::optional<crypto::SecretBytes> ClientStore::get_secret(std::string_view key) {
  auto st = db_->prepare("SELECT value FROM settings WHERE key=?1");
  st.bind(1, key);
  if (!st.step()) return std::nullopt;
  return secret_blob(st, 0);
}

void ClientStore::set(std::string_view key, std::string_view value) {
  auto st = db_->prepare("INSERT OR REPLACE INTO settings(key, value) VALUES(?1, ?2)");
  st.bind(1, key).bind_blob(2, value);
  st.step();
}

void ClientStore::erase(std::string_view key) {
  auto st = db_->prepare("DELETE FROM settings WHERE key=?1");
  st.bind(1, key);
  st.step();
}

int64_t ClientStore::next_counter() {
  auto c = get("counter");
  int64_t n = c ? std::stoll(*c) + 1 : 1;
  set("counter", std::to_string(n));
  return n;
}

void ClientStore::put_signed_prekey(uint32_t id, std::string_view data, int64_t now_ms) {
  auto st = db_->prepare(
      "INSERT OR REPLACE INTO signed_prekeys(id, data, created_ms) VALUES(?1, ?2, ?3)");
  st.bind(1, int64_t{id}).bind_blob(2, data).bind(3, now_ms);
  st.step();
}

std::optional<crypto::SecretBytes> ClientStore::signed_prekey(uint32_t id) {
  auto st = db_->prepare("SELECT data FROM signed_prekeys WHERE id=?1");
  st.bind(1, int64_t{id});
  if (!st.step()) return std::nullopt;
  return secret_blob(st, 0);
}

std::optional<int64_t> ClientStore::signed_prekey_created_ms(uint32_t id) {
  auto st = db_->prepare("SELECT created_ms FROM signed_prekeys WHERE id=?1");
  st.bind(1, int64_t{id});
  if (!st.step()) return std::nullopt;
  return st.int64(0);
}

void ClientStore::mark_signed_prekeys_replaced(uint32_t current, int64_t now_ms) {
  // The first time counts: a key is replaced once.
  auto st = db_->prepare(
      "INSERT OR IGNORE INTO signed_prekeys_replaced(id, replaced_ms) "
      "SELECT id, ?2 FROM signed_prekeys WHERE id <> ?1");
  st.bind(1, int64_t{current}).bind(2, now_ms);
  st.step();
}

int ClientStore::drop_replaced_signed_prekeys(int64_t replaced_before_ms,
                                              const std::set<uint32_t>& keep) {
  auto old = db_->prepare("SELECT id FROM signed_prekeys_replaced WHERE replaced_ms < ?1");
  old.bind(1, replaced_before_ms);
  std::vector<int64_t> ids;
  while (old.step()) {
    if (!keep.contains(static_cast<uint32_t>(old.int64(0)))) ids.push_back(old.int64(0));
  }
  for (int64_t id : ids) {
    for (const char* sql : {"DELETE FROM signed_prekeys WHERE id=?1",
                            "DELETE FROM signed_prekeys_replaced WHERE id=?1"}) {
      auto st = db_->prepare(sql);
      st.bind(1, id);
      st.step();
    }
  }
  return static_cast<int>(ids.size());
}

void ClientStore::put_one_time_prekey(uint32_t id, std::string_view data) {
  auto st = db_->prepare("INSERT OR REPLACE INTO one_time_prekeys(id, data) VALUES(?1, ?2)");
  st.bind(1, int64_t{id}).bind_blob(2, data);
  st.step();
}

std::optional<crypto::SecretBytes> ClientStore::one_time_prekey(uint32_t id) {
  auto st = db_->prepare("SELECT data FROM one_time_prekeys WHERE id=?1");
  st.bind(1, int64_t{id});
  if (!st.step()) return std::nullopt;
  return secret_blob(st, 0);
}

void ClientStore::delete_one_time_prekey(uint32_t id) {
  auto st = db_->prepare("DELETE FROM one_time_prekeys WHERE id=?1");
  st.bind(1, int64_t{id});
  st.step();
}

bool ClientStore::base_key_accepted(std::string_view base_key) {
  auto st = db_->prepare("SELECT 1 FROM accepted_base_keys WHERE base_key=?1");
  st.bind_blob(1, base_key);
  return st.step();
}

void ClientStore::remember_base_key(std::string_view base_key) {
  auto st = db_->prepare("INSERT OR IGNORE INTO accepted_base_keys(base_key) VALUES(?1)");
  st.bind_blob(1, base_key);
  st.step();
}

uint32_t ClientStore::one_time_prekey_count() {
  auto st = db_->prepare("SELECT count(*) FROM one_time_prekeys");
  st.step();
  return static_cast<uint32_t>(st.int64(0));
}

std::optional<Contact> ClientStore::contact(std::string_view username) {
  auto st = db_->prepare(
      "SELECT username, identity_key, pending_identity_key FROM contacts WHERE username=?1");
  st.bind(1, username);
  if (!st.step()) return std::nullopt;
  return Contact{st.text(0), st.blob(1), st.is_null(2) ? std::string() : st.blob(2)};
}

void ClientStore::put_contact(std::string_view username, std::string_view identity_key) {
  auto st = db_->prepare(
      "INSERT OR REPLACE INTO contacts(username, identity_key, pending_identity_key) "
      "VALUES(?1, ?2, NULL)");
  st.bind(1, username).bind_blob(2, identity_key);
  st.step();
}

void ClientStore::set_pending_identity(std::string_view username, std::string_view identity_key) {
  auto st = db_->prepare("UPDATE contacts SET pending_identity_key=?2 WHERE username=?1");
  st.bind(1, username).bind_blob(2, identity_key);
  st.step();
}

bool ClientStore::accept_pending_identity(std::string_view username) {
  auto c = contact(username);
  if (!c || c->pending_identity_key.empty()) return false;
  put_contact(username, c->pending_identity_key);
  delete_sessions(username);
  // What waits in the outbox was encrypted for the old key: encrypt it again.
  auto st = db_->prepare("UPDATE outbox SET sealed=NULL WHERE recipient=?1 AND state=0");
  st.bind(1, username);
  st.step();
  return true;
}

std::vector<StoredSession> ClientStore::sessions(std::string_view username) {
  auto st = db_->prepare("SELECT id, state FROM sessions WHERE username=?1 ORDER BY used DESC");
  st.bind(1, username);
  std::vector<StoredSession> out;
  while (st.step()) out.push_back(StoredSession{st.int64(0), secret_blob(st, 1)});
  return out;
}

int64_t ClientStore::add_session(std::string_view username, std::string_view state) {
  auto st = db_->prepare("INSERT INTO sessions(username, state, used) VALUES(?1, ?2, ?3)");
  st.bind(1, username).bind_blob(2, state).bind(3, next_counter());
  st.step();
  int64_t id = db_->last_insert_rowid();
  auto trim = db_->prepare(
      "DELETE FROM sessions WHERE username=?1 AND id NOT IN "
      "(SELECT id FROM sessions WHERE username=?1 ORDER BY used DESC LIMIT ?2)");
  trim.bind(1, username).bind(2, int64_t{kSessionsKept});
  trim.step();
  return id;
}

void ClientStore::update_session(int64_t id, std::string_view state) {
  auto st = db_->prepare("UPDATE sessions SET state=?2, used=?3 WHERE id=?1");
  st.bind(1, id).bind_blob(2, state).bind(3, next_counter());
  st.step();
}

void ClientStore::delete_sessions(std::string_view username) {
  auto st = db_->prepare("DELETE FROM sessions WHERE username=?1");
  st.bind(1, username);
  st.step();
}

int64_t ClientStore::enqueue(std::string_view recipient, uint64_t client_id, OutKind kind,
                             std::string_view body, std::string_view text, int64_t now_ms) {
  auto st = db_->prepare(
      "INSERT INTO outbox(recipient, client_id, kind, body, sealed, state, text, created_ms) "
      "VALUES(?1, ?2, ?3, ?4, NULL, 0, ?5, ?6)");
  st.bind(1, recipient).bind(2, as_i64(client_id)).bind(3, static_cast<int64_t>(kind));
  st.bind_blob(4, body).bind(5, text).bind(6, now_ms);
  st.step();
  return db_->last_insert_rowid();
}

namespace {
OutItem read_out(db::Statement& st) {
  OutItem o;
  o.seq = st.int64(0);
  o.recipient = st.text(1);
  o.client_id = as_u64(st.int64(2));
  o.kind = static_cast<OutKind>(st.int64(3));
  o.body = st.blob(4);
  o.sealed = st.is_null(5) ? std::string() : st.blob(5);
  o.state = static_cast<OutState>(st.int64(6));
  o.text = st.text(7);
  return o;
}
constexpr const char* kOutColumns =
    "SELECT seq, recipient, client_id, kind, body, sealed, state, text FROM outbox ";
}  // namespace

std::vector<OutItem> ClientStore::queued() {
  auto st = db_->prepare(std::string(kOutColumns) + "WHERE state=0 ORDER BY seq");
  std::vector<OutItem> out;
  while (st.step()) out.push_back(read_out(st));
  return out;
}

std::optional<OutItem> ClientStore::out_item(uint64_t client_id) {
  auto st = db_->prepare(std::string(kOutColumns) + "WHERE client_id=?1");
  st.bind(1, as_i64(client_id));
  if (!st.step()) return std::nullopt;
  return read_out(st);
}

void ClientStore::seal(int64_t seq, std::string_view sealed) {
  auto st = db_->prepare("UPDATE outbox SET sealed=?2 WHERE seq=?1");
  st.bind(1, seq).bind_blob(2, sealed);
  st.step();
}

void ClientStore::set_state(uint64_t client_id, OutState state) {
  // Receipts are of no use once sent: forget them instead of keeping history.
  auto st = db_->prepare("UPDATE outbox SET state=?2 WHERE client_id=?1");
  st.bind(1, as_i64(client_id)).bind(2, static_cast<int64_t>(state));
  st.step();
  if (state == OutState::sent) {
    auto del = db_->prepare("DELETE FROM outbox WHERE client_id=?1 AND kind=2");
    del.bind(1, as_i64(client_id));
    del.step();
  }
}

int ClientStore::mark_delivered(std::string_view recipient,
                                const std::vector<uint64_t>& client_ids) {
  auto st = db_->prepare(
      "UPDATE outbox SET state=2 WHERE recipient=?1 AND client_id=?2 AND kind=1 AND state<2");
  int changed = 0;
  for (uint64_t id : client_ids) {
    st.reset();
    st.bind(1, recipient).bind(2, as_i64(id));
    st.step();
    changed += db_->changes();
  }
  return changed;
}

bool ClientStore::in_inbox(std::string_view sender, uint64_t client_id) {
  auto st = db_->prepare("SELECT 1 FROM inbox WHERE sender=?1 AND client_id=?2");
  st.bind(1, sender).bind(2, as_i64(client_id));
  return st.step();
}

bool ClientStore::add_to_inbox(std::string_view sender, uint64_t client_id, std::string_view text,
                               int64_t sent_at_ms, int64_t now_ms) {
  auto st = db_->prepare(
      "INSERT INTO inbox(sender, client_id, text, sent_at_ms, received_ms) "
      "VALUES(?1, ?2, ?3, ?4, ?5)");
  st.bind(1, sender).bind(2, as_i64(client_id)).bind(3, text).bind(4, sent_at_ms).bind(5, now_ms);
  return st.step_constraint();
}

std::vector<InItem> ClientStore::unshown() {
  auto st = db_->prepare("SELECT id, sender, client_id, text FROM inbox WHERE shown=0 ORDER BY id");
  std::vector<InItem> out;
  while (st.step()) out.push_back(InItem{st.int64(0), st.text(1), as_u64(st.int64(2)), st.text(3)});
  return out;
}

void ClientStore::mark_shown(int64_t id) {
  auto st = db_->prepare("UPDATE inbox SET shown=1 WHERE id=?1");
  st.bind(1, id);
  st.step();
}

bool ClientStore::hold(const HeldEnvelope& e) {
  // Already held (delivered again): nothing new takes room. Known by the
  // sender's own id for it, as the inbox knows messages.
  auto already = db_->prepare("SELECT 1 FROM held_messages WHERE sender=?1 AND client_id=?2");
  already.bind(1, e.sender).bind(2, as_i64(e.client_id));
  if (already.step()) return true;
  auto count = db_->prepare("SELECT COUNT(*), COALESCE(SUM(sender=?1), 0) FROM held_messages");
  count.bind(1, e.sender);
  if (count.step() && (count.int64(0) >= kMaxHeld || count.int64(1) >= kMaxHeldPerSender))
    return false;
  auto st = db_->prepare("INSERT INTO held_messages(sender, client_id, content) VALUES(?1,?2,?3)");
  st.bind(1, e.sender).bind(2, as_i64(e.client_id));
  st.bind_blob(3, e.content);
  st.step();
  return true;
}

std::vector<HeldEnvelope> ClientStore::held(std::string_view sender) {
  auto st = db_->prepare(
      "SELECT id, sender, client_id, content FROM held_messages WHERE sender=?1 ORDER BY id");
  st.bind(1, sender);
  std::vector<HeldEnvelope> out;
  while (st.step())
    out.push_back(HeldEnvelope{as_u64(st.int64(0)), st.text(1), as_u64(st.int64(2)), st.blob(3)});
  return out;
}

std::vector<std::string> ClientStore::held_senders() {
  auto st = db_->prepare("SELECT DISTINCT sender FROM held_messages ORDER BY sender");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

void ClientStore::drop_held(uint64_t id) {
  auto st = db_->prepare("DELETE FROM held_messages WHERE id=?1");
  st.bind(1, as_i64(id));
  st.step();
}

}  // namespace ferry::chat::client
