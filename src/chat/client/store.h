// The client's home: one SQLite file (HOME/ferry.db, 0600, in a 0700
// directory) with its keys, contacts, Double Ratchet sessions, outbox and
// inbox. Callers group related changes in one db::Transaction (for example:
// decrypt, save the ratchet state, store the message), so a crash leaves
// either all of it or none.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "chat/db/sqlite.h"
#include "crypto/secret.h"

namespace ferry::chat::client {

struct Contact {
  std::string username;
  std::string identity_key;          // 32-byte Ed25519 public key
  std::string pending_identity_key;  // a different key seen since; empty if none
};

struct StoredSession {
  int64_t id = 0;
  crypto::SecretBytes state;  // RatchetSession::serialize()
};

enum class OutState : int64_t { queued = 0, sent = 1, delivered = 2, failed = 3 };
enum class OutKind : int64_t { text = 1, receipt = 2 };

struct OutItem {
  int64_t seq = 0;
  std::string recipient;
  uint64_t client_id = 0;
  OutKind kind = OutKind::text;
  std::string body;    // the Content plaintext (serialised)
  std::string sealed;  // the ratchet message, once encrypted; empty before
  OutState state = OutState::queued;
  std::string text;  // for display (texts only)
};

struct InItem {
  int64_t id = 0;
  std::string sender;
  uint64_t client_id = 0;
  std::string text;
};

struct HeldEnvelope {
  uint64_t id = 0;  // local, given by hold(): not the server's envelope id
  std::string sender;
  uint64_t client_id = 0;
  std::string content;
};

class ClientStore {
 public:
  // Creates HOME (0700) and HOME/ferry.db (0600) when missing.
  static std::unique_ptr<ClientStore> open(const std::string& home, std::string& error);

  db::Database& db() { return *db_; }
  // Moves everything into ferry.db and empties ferry.db-wal, which holds
  // older page images (deleted prekeys, replaced ratchet states) that
  // secure_delete cannot reach. Closing the store does the same; a
  // long-running command calls this now and then.
  void checkpoint();
  const std::string& home() const { return home_; }

  // Settings: small named values (keys, username, server link, proxy).
  std::optional<std::string> get(std::string_view key);
  // For the private keys kept as settings ("identity", "login").
  std::optional<crypto::SecretBytes> get_secret(std::string_view key);
  void set(std::string_view key, std::string_view value);
  void erase(std::string_view key);

  // Prekeys (private halves, crypto-serialised).
  void put_signed_prekey(uint32_t id, std::string_view data, int64_t now_ms);
  std::optional<crypto::SecretBytes> signed_prekey(uint32_t id);
  std::optional<int64_t> signed_prekey_created_ms(uint32_t id);
  // Notes that the server hands out `current` from `now_ms` on: every other
  // signed prekey not yet noted is replaced then.
  void mark_signed_prekeys_replaced(uint32_t current, int64_t now_ms);
  // Forgets the signed prekeys replaced before `replaced_before_ms`, except
  // those in `keep`; returns how many.
  int drop_replaced_signed_prekeys(int64_t replaced_before_ms, const std::set<uint32_t>& keep);
  void put_one_time_prekey(uint32_t id, std::string_view data);
  std::optional<crypto::SecretBytes> one_time_prekey(uint32_t id);
  void delete_one_time_prekey(uint32_t id);
  uint32_t one_time_prekey_count();
  // Base keys (EK_A) of the prekey messages that started sessions here.
  bool base_key_accepted(std::string_view base_key);
  void remember_base_key(std::string_view base_key);

  // Contacts.
  std::optional<Contact> contact(std::string_view username);
  void put_contact(std::string_view username, std::string_view identity_key);
  void set_pending_identity(std::string_view username, std::string_view identity_key);
  // pending -> identity; forgets the sessions made with the old key, and
  // what the outbox encrypted with them.
  bool accept_pending_identity(std::string_view username);

  // Ratchet sessions, most recently used first.
  std::vector<StoredSession> sessions(std::string_view username);
  int64_t add_session(std::string_view username, std::string_view state);
  void update_session(int64_t id, std::string_view state);  // and marks it most recent
  void delete_sessions(std::string_view username);

  // Outbox.
  int64_t enqueue(std::string_view recipient, uint64_t client_id, OutKind kind,
                  std::string_view body, std::string_view text, int64_t now_ms);
  std::vector<OutItem> queued();  // state queued, oldest first
  void seal(int64_t seq, std::string_view sealed);
  void set_state(uint64_t client_id, OutState state);
  // Texts to `recipient` whose client ids are listed: delivered. Returns how many changed.
  int mark_delivered(std::string_view recipient, const std::vector<uint64_t>& client_ids);
  std::optional<OutItem> out_item(uint64_t client_id);

  // Inbox.
  bool in_inbox(std::string_view sender, uint64_t client_id);
  // Returns false if (sender, client_id) was there already.
  bool add_to_inbox(std::string_view sender, uint64_t client_id, std::string_view text,
                    int64_t sent_at_ms, int64_t now_ms);
  std::vector<InItem> unshown();
  void mark_shown(int64_t id);

  // Envelopes held back (the sender's identity changed) until accepted, at
  // most kMaxHeldPerSender per sender and kMaxHeld in all: they come from
  // the network and wait for a person, so they must not fill the disk.
  // false when a bound refused it.
  static constexpr int kMaxHeldPerSender = 500;
  static constexpr int kMaxHeld = 2000;
  bool hold(const HeldEnvelope& e);
  std::vector<HeldEnvelope> held(std::string_view sender);
  std::vector<std::string> held_senders();
  void drop_held(uint64_t id);

 private:
  ClientStore(std::string home, std::unique_ptr<db::Database> db)
      : home_(std::move(home)), db_(std::move(db)) {}
  void create_schema();
  int64_t next_counter();

  std::string home_;
  std::unique_ptr<db::Database> db_;
};

}  // namespace ferry::chat::client
