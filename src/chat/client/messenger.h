// The client library behind the `ferry` commands: an account in a home
// directory, one connection at a time, and the rules that make messages
// safe to lose a connection over:
//   - a message goes to the outbox (committed) before anything is sent, and
//     leaves it only when the server said it stored it (Sent), or refused it
//     for good (unknown user);
//   - a message is encrypted once, and the ciphertext is kept, so a resend is
//     the same envelope with the same client id (the server stores it once);
//   - a received envelope is decrypted and stored (one transaction) before
//     it is acknowledged, and a (sender, client id) already stored is
//     acknowledged and dropped, so nothing reaches the user twice.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/client/connection.h"
#include "chat/client/e2e.h"
#include "chat/client/errors.h"
#include "chat/client/store.h"
#include "chat/wire/links.h"
#include "crypto/keys.h"

namespace ferry::chat::client {

struct ClientOptions {
  std::string home;
  std::optional<std::string> proxy;  // --proxy as given ("none" forgets a remembered one)
  uint64_t connect_timeout_ms = 15'000;
  uint64_t request_timeout_ms = 30'000;
};

// What the user interface wants to hear about.
struct Events {
  std::function<void(const InItem&)> message;                         // a new message to show
  std::function<void(const OutItem&)> sent;                           // stored by the server
  std::function<void(const std::string& peer, int count)> delivered;  // receipts arrived
  std::function<void(const std::string& line)> warning;               // one line for stderr
  std::function<void(const OutItem&, const ClientError&)> failed;     // refused or held back
};

class Messenger {
 public:
  explicit Messenger(ClientOptions options);  // opens the home; throws ClientError
  ~Messenger();

  void set_events(Events e) { events_ = std::move(e); }
  ClientStore& store() { return *store_; }

  // ---- account ----
  bool registered();
  std::string username();  // throws if not registered
  void require_registered();
  // Creates keys (once), registers USERNAME, uploads prekeys. Idempotent.
  void register_account(const std::string& username, const std::string& server_link);

  // ---- connection ----
  // Remembers --proxy if given, then connects (if not connected).
  void connect();
  bool connected() const { return conn_ != nullptr; }
  Connection& connection() { return *conn_; }
  void disconnect() { conn_.reset(); }

  // ---- sending ----
  // Queues a text in the outbox (committed). Returns its client id.
  uint64_t enqueue_text(const std::string& to, const std::string& text);
  // Encrypts and sends what is queued (as far as it can) without waiting.
  void send_queued();
  // send_queued(), then waits until every send has an answer (or deadline).
  void flush_outbox(uint64_t deadline_ms);
  // Why `client_id` was not sent in this run, if it was not.
  std::optional<ClientError> failure(uint64_t client_id) const;
  bool sends_pending() const { return !pending_sends_.empty(); }
  // The server said a recipient's identity key changed: fetch the new key so
  // it is noted (and shown by safety-number) until the user accepts it.
  void check_identities();

  // ---- receiving ----
  // Asks the server to start delivering. Envelopes are handled as they come
  // (see pump()); drained() says the server has sent all it held.
  void start_receiving();
  bool drained() const { return drained_; }
  size_t messages_received() const { return messages_received_; }
  bool acks_pending() const { return !pending_acks_.empty(); }
  // Messages held back because a contact's identity changed (this run).
  const std::vector<std::string>& identity_changes() const { return identity_changes_; }
  // Opens envelopes held back for contacts whose new identity was accepted.
  void process_held();

  // Handles whatever answers and pushes arrive until `deadline_ms`, or
  // until `until()` is true. Returns false on timeout.
  bool pump(uint64_t deadline_ms, const std::function<bool()>& until);
  // One non-blocking round (chat: after poll() said the socket is ready).
  void pump_now();
  void ping();

  // ---- contacts ----
  // Fetches `peer`'s bundle and starts a session (throws unknown_user etc.).
  void start_session_with(const std::string& peer);
  const crypto::IdentityKeyPair& identity() const { return *identity_; }

 private:
  struct PendingCall {
    std::optional<pb::Response> answer;
  };
  void load_keys();
  ServerLink server_link();
  Target target();
  void handle(pb::Response& response);
  // `held`: envelopes from the held table (opened now that their sender's
  // identity is accepted), not from the server.
  void handle_envelopes(const pb::Envelopes& envelopes, bool held = false);
  void handle_send_answer(uint64_t client_id, const pb::Response& response);
  // Sends `request` and waits for its answer, handling everything else meanwhile.
  pb::Response call(pb::Request& request);
  // Keys the server hands out for us, kept fresh between requests: new
  // one-time prekeys when it says they run low, a new signed prekey weekly.
  void maintain_prekeys();
  void replenish_prekeys();
  void upload_initial_prekeys();
  static void add_one_time_prekey(pb::UploadPrekeys& u, const crypto::OneTimePrekeyPair& k);
  // Makes kPrekeyBatch one-time prekeys with new ids, keeps them, adds them to `u`.
  void add_new_one_time_prekeys(pb::UploadPrekeys& u);
  uint32_t signed_prekey_id();
  // Adds the signed prekey `id` from the home to `u`.
  void add_signed_prekey(pb::UploadPrekeys& u, uint32_t id);
  // The current signed prekey is a week old, or the server may not have it.
  bool signed_prekey_due();
  bool signed_prekey_expired(uint32_t id);  // made a week ago or more
  // Sets signed_prekey_due_ and forgets signed prekeys replaced 30 days ago
  // that no held message needs.
  void check_signed_prekey();
  std::set<uint32_t> signed_prekeys_held_messages_need();
  void rotate_signed_prekey();
  bool seal_item(OutItem& item);
  void warn(const std::string& line);
  void record_failure(uint64_t client_id, const ClientError& e);

  ClientOptions options_;
  std::unique_ptr<ClientStore> store_;
  std::optional<crypto::IdentityKeyPair> identity_;
  std::optional<crypto::DhKeyPair> login_;
  std::unique_ptr<E2E> e2e_;
  std::unique_ptr<Connection> conn_;
  Events events_;

  std::unordered_map<uint64_t, uint64_t> pending_sends_;  // request id -> client id
  std::unordered_map<uint64_t, bool> pending_acks_;       // request id
  std::unordered_map<uint64_t, PendingCall> calls_;       // request id -> answer
  std::map<uint64_t, ClientError> failures_;              // client id -> why
  std::vector<std::string> identity_changes_;
  std::vector<std::string> identity_checks_;
  bool receiving_ = false;
  bool drained_ = false;
  bool prekeys_low_ = false;
  bool replenishing_ = false;
  bool signed_prekey_due_ = false;
  bool rotating_ = false;
  uint64_t signed_prekey_checked_ms_ = 0;  // monotonic
  size_t messages_received_ = 0;
};

}  // namespace ferry::chat::client
