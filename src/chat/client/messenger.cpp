#include "chat/client/messenger.h"

#include <algorithm>
#include <chrono>

#include "chat/client/content_padding.h"
#include "chat/client/printable.h"
#include "crypto/prekeys.h"
#include "crypto/random.h"
#include "crypto/ratchet.h"

namespace ferry::chat::client {
namespace {

constexpr size_t kPrekeyBatch = 100;            // one-time prekeys per upload
constexpr size_t kSendWindow = 256;             // sends in flight before waiting for answers
constexpr size_t kMaxText = size_t{16} * 1024;  // bytes of text per message
// The signed prekey is replaced after a week (as Signal does), so a stolen
// one opens only the sessions begun with it in that week; a replaced one is
// kept 30 days more for first messages still on their way to us.
constexpr uint64_t kHourMs = uint64_t{3600} * 1000;
constexpr int64_t kDayMs = 24 * int64_t{kHourMs};
constexpr int64_t kSignedPrekeyLifetimeMs = 7 * kDayMs;
constexpr int64_t kSignedPrekeyKeptMs = 30 * kDayMs;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string str(crypto::ByteView v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

uint64_t random_u64() {
  uint64_t v = 0;
  crypto::random_bytes(reinterpret_cast<uint8_t*>(&v), sizeof v);
  return v;
}

// The ratchet's plaintext: a Content, padded (content_padding.h).
std::string content_bytes(pb::Content& c) {
  c.set_sent_at_ms(static_cast<uint64_t>(unix_ms()));
  pad_content(c);
  std::string out;
  append_serialized(c, out);
  return out;
}

// A server's own words, made safe for a terminal: a hostile server could
// otherwise print a line that passes for a message ("\nalice: ...").
std::string server_says(const pb::Error& e) {
  return printable(e.message());
}

ClientError server_error(const pb::Error& e, const std::string& what) {
  switch (e.code()) {
    case pb::UNKNOWN_USER:
      return ClientError(ExitCode::unknown_user, "unknown user: " + what);
    case pb::USERNAME_TAKEN:
      return ClientError(ExitCode::error, "username taken: " + what);
    case pb::ALREADY_REGISTERED:
      return ClientError(ExitCode::error, "this home is registered under another name");
    case pb::NOT_REGISTERED:
      return ClientError(ExitCode::error, "the server does not know this account: register first");
    default:
      return ClientError(
          ExitCode::error,
          "the server refused (" + std::string(error_code_name(e.code())) + "): " + server_says(e));
  }
}

}  // namespace

Messenger::Messenger(ClientOptions options) : options_(std::move(options)) {
  std::string error;
  store_ = ClientStore::open(options_.home, error);
  if (!store_) throw ClientError(ExitCode::error, error);
  load_keys();
  if (options_.proxy) {
    if (*options_.proxy == "none" || *options_.proxy == "direct") {
      store_->erase("proxy");
    } else {
      auto spec = ProxySpec::parse(*options_.proxy, error);
      if (!spec) throw ClientError(ExitCode::usage, "--proxy: " + error);
      store_->set("proxy", spec->to_string());
    }
  }
}

Messenger::~Messenger() = default;

void Messenger::record_failure(uint64_t client_id, const ClientError& e) {
  failures_.insert_or_assign(client_id, e);
  if (events_.failed) {
    if (auto item = store_->out_item(client_id); item && item->kind == OutKind::text)
      events_.failed(*item, e);
  }
}

void Messenger::warn(const std::string& line) {
  if (events_.warning) events_.warning(line);
}

void Messenger::load_keys() {
  if (auto id = store_->get_secret("identity")) {
    auto pair = crypto::IdentityKeyPair::deserialize(crypto::view(*id));
    if (!pair) throw ClientError(ExitCode::error, "the identity key in the home is damaged");
    identity_.emplace(std::move(pair).value());
  }
  if (auto login = store_->get_secret("login")) {
    auto pair = crypto::dh_keypair_from_private(crypto::DhKind::x25519, crypto::view(*login));
    if (!pair) throw ClientError(ExitCode::error, "the login key in the home is damaged");
    login_.emplace(std::move(pair).value());
  }
  if (identity_) e2e_ = std::make_unique<E2E>(*store_, *identity_);
}

bool Messenger::registered() {
  return store_->get("registered").has_value();
}

void Messenger::require_registered() {
  if (!registered())
    throw ClientError(ExitCode::error, "no account in " + options_.home +
                                           ": run ferry register USERNAME --server LINK");
}

std::string Messenger::username() {
  require_registered();
  return *store_->get("username");
}

ServerLink Messenger::server_link() {
  auto text = store_->get("server_link");
  if (!text) require_registered();
  std::string error;
  auto link = ServerLink::parse(*text, error);
  if (!link) throw ClientError(ExitCode::error, "the stored server link is damaged: " + error);
  return *link;
}

Target Messenger::target() {
  if (auto p = store_->get("proxy")) {
    // Never fall back to a direct connection: where the server is blocked,
    // that would show the censor who is trying to reach it.
    std::string error;
    auto spec = ProxySpec::parse(*p, error);
    if (!spec)
      throw ClientError(ExitCode::error, "the stored proxy is damaged (" + error +
                                             "); set it again with --proxy, or --proxy none");
    return Target{spec->address, spec->tls, true};
  }
  return Target{server_link().address, false, false};
}

void Messenger::connect() {
  if (conn_) return;
  if (!login_) require_registered();
  std::string pinned = store_->get("server_key").value_or("");
  conn_ = Connection::open(target(), *login_, pinned, now_ms() + options_.connect_timeout_ms);
  // Trust on first use when the link had no key: pin what XX revealed.
  if (pinned.empty()) store_->set("server_key", conn_->server_key());
  pending_sends_.clear();
  pending_acks_.clear();
  calls_.clear();
  receiving_ = drained_ = false;
  check_signed_prekey();
}

// ---------------------------------------------------------------------------
// Account

void Messenger::register_account(const std::string& username, const std::string& link_text) {
  if (!valid_username(username))
    throw ClientError(ExitCode::usage,
                      "a username is 1-32 of a-z 0-9 _ . - and starts with a letter or digit");
  std::string error;
  auto link = ServerLink::parse(link_text, error);
  if (!link) throw ClientError(ExitCode::usage, "--server: " + error);
  if (auto existing = store_->get("username"); existing && *existing != username)
    throw ClientError(ExitCode::error, options_.home + " already holds the account " + *existing);
  if (auto old = store_->get("server_link"); old && *old != link->to_string() && registered())
    throw ClientError(ExitCode::error, options_.home + " is registered on another server");

  {
    db::Transaction tx(store_->db());
    if (!identity_) {
      auto id = crypto::IdentityKeyPair::generate();
      store_->set("identity", crypto::chars(id.serialize()));
      auto login = crypto::dh_generate(crypto::DhKind::x25519);
      store_->set("login", crypto::chars(login.private_key));
      auto spk = crypto::generate_signed_prekey(id, 1);
      store_->put_signed_prekey(spk.id, crypto::chars(spk.serialize()), unix_ms());
      store_->set("signed_prekey_id", "1");
      for (auto& k : crypto::generate_one_time_prekeys(1, kPrekeyBatch))
        store_->put_one_time_prekey(k.id, crypto::chars(k.serialize()));
      store_->set("next_prekey_id", std::to_string(kPrekeyBatch + 1));
    }
    store_->set("server_link", link->to_string());
    if (!link->key.empty()) store_->set("server_key", link->key);
    tx.commit();
  }
  load_keys();
  connect();

  pb::Request reg;
  auto* r = reg.mutable_register_();
  r->set_username(username);
  r->set_identity_key(str(identity_->public_key().bytes()));
  auto sig = identity_->sign(
      crypto::as_bytes(registration_message(str(crypto::ByteView(login_->public_key)), username)));
  r->set_signature(std::string(sig.begin(), sig.end()));
  auto answer = call(reg);
  if (answer.has_error()) throw server_error(answer.error(), username);
  store_->set("username", username);
  // Every time: a server that lost its database gets them back.
  upload_initial_prekeys();
  store_->set("registered", "1");
}

uint32_t Messenger::signed_prekey_id() {
  return static_cast<uint32_t>(std::stoul(store_->get("signed_prekey_id").value_or("1")));
}

void Messenger::add_signed_prekey(pb::UploadPrekeys& u, uint32_t id) {
  auto data = store_->signed_prekey(id);
  auto spk = crypto::SignedPrekeyPair::deserialize(data ? crypto::view(*data) : crypto::ByteView());
  if (!spk) throw ClientError(ExitCode::error, "the signed prekey in the home is damaged");
  auto pub = spk->public_part();
  u.mutable_signed_prekey()->set_id(pub.id);
  u.mutable_signed_prekey()->set_public_key(
      std::string(pub.public_key.begin(), pub.public_key.end()));
  u.mutable_signed_prekey()->set_signature(std::string(pub.signature.begin(), pub.signature.end()));
}

void Messenger::upload_initial_prekeys() {
  const uint32_t spk_id = signed_prekey_id();
  pb::Request up;
  auto* u = up.mutable_upload_prekeys();
  add_signed_prekey(*u, spk_id);
  // Each one-time prekey is offered to the server once: one offered before
  // may have been handed out already, its first message still on the way,
  // and a second handing out would make that message unreadable. So the
  // batch made with the identity goes up once; every later registration (a
  // server that lost its database, or `register` run again) gets new ones.
  if (store_->get("prekeys_uploaded") == "1") {
    add_new_one_time_prekeys(*u);
  } else {
    for (uint32_t id = 1; id <= kPrekeyBatch; ++id) {
      auto data = store_->one_time_prekey(id);
      if (!data) continue;
      auto k = crypto::OneTimePrekeyPair::deserialize(crypto::view(*data));
      if (!k) continue;
      add_one_time_prekey(*u, *k);
    }
    store_->set("prekeys_uploaded", "1");  // before the call: even a lost answer counts
  }
  auto answer = call(up);
  if (answer.has_error()) throw server_error(answer.error(), "prekeys");
  store_->set("signed_prekey_uploaded", std::to_string(spk_id));
}

void Messenger::add_one_time_prekey(pb::UploadPrekeys& u, const crypto::OneTimePrekeyPair& k) {
  auto p = k.public_part();
  auto* o = u.add_one_time_prekeys();
  o->set_id(p.id);
  o->set_public_key(std::string(p.public_key.begin(), p.public_key.end()));
}

void Messenger::add_new_one_time_prekeys(pb::UploadPrekeys& u) {
  auto first = static_cast<uint32_t>(std::stoul(store_->get("next_prekey_id").value_or("1")));
  db::Transaction tx(store_->db());
  for (auto& k : crypto::generate_one_time_prekeys(first, kPrekeyBatch)) {
    store_->put_one_time_prekey(k.id, crypto::chars(k.serialize()));
    add_one_time_prekey(u, k);
  }
  store_->set("next_prekey_id", std::to_string(first + kPrekeyBatch));
  tx.commit();
}

bool Messenger::signed_prekey_expired(uint32_t id) {
  auto created = store_->signed_prekey_created_ms(id);
  return !created || unix_ms() - *created >= kSignedPrekeyLifetimeMs;
}

bool Messenger::signed_prekey_due() {
  const uint32_t id = signed_prekey_id();
  return signed_prekey_expired(id) || store_->get("signed_prekey_uploaded") != std::to_string(id);
}

void Messenger::rotate_signed_prekey() {
  signed_prekey_due_ = false;
  rotating_ = true;
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{rotating_};
  uint32_t id = signed_prekey_id();
  if (signed_prekey_expired(id)) {
    id = id + 1 == 0 ? 1 : id + 1;
    auto spk = crypto::generate_signed_prekey(*identity_, id);
    db::Transaction tx(store_->db());
    store_->put_signed_prekey(id, crypto::chars(spk.serialize()), unix_ms());
    store_->set("signed_prekey_id", std::to_string(id));
    tx.commit();
  }
  // Until the server has it, it hands out the old one, which we still hold:
  // nothing is lost if this upload fails; the next check tries again.
  if (store_->get("signed_prekey_uploaded") != std::to_string(id)) {
    pb::Request up;
    add_signed_prekey(*up.mutable_upload_prekeys(), id);
    auto answer = call(up);
    if (answer.has_error()) {
      warn("could not upload a new signed prekey: " + server_says(answer.error()));
      return;
    }
    store_->set("signed_prekey_uploaded", std::to_string(id));
  }
  // From now on the server hands out `id`: the older ones' 30 days start.
  store_->mark_signed_prekeys_replaced(id, unix_ms());
}

void Messenger::check_signed_prekey() {
  signed_prekey_checked_ms_ = now_ms();
  if (!registered()) return;
  signed_prekey_due_ = signed_prekey_due();
  store_->drop_replaced_signed_prekeys(unix_ms() - kSignedPrekeyKeptMs,
                                       signed_prekeys_held_messages_need());
}

std::set<uint32_t> Messenger::signed_prekeys_held_messages_need() {
  // A held first message (its sender's new identity awaits the user) is
  // opened only when accepted, however long that takes.
  std::set<uint32_t> ids;
  for (const auto& sender : store_->held_senders()) {
    for (const auto& h : store_->held(sender)) {
      auto bytes = crypto::as_bytes(h.content);
      auto type = crypto::peek_message_type(bytes);
      if (!type || *type != crypto::RatchetMessageType::prekey) continue;
      if (auto info = crypto::parse_prekey_message(bytes)) ids.insert(info->signed_prekey_id);
    }
  }
  return ids;
}

void Messenger::maintain_prekeys() {
  // A `chat` may stay connected for weeks: look again every hour.
  if (!signed_prekey_due_ && now_ms() - signed_prekey_checked_ms_ > kHourMs) check_signed_prekey();
  if (prekeys_low_ && !replenishing_) replenish_prekeys();
  if (signed_prekey_due_ && !rotating_) rotate_signed_prekey();
}

void Messenger::replenish_prekeys() {
  if (!prekeys_low_ || replenishing_ || !conn_ || !identity_) return;
  replenishing_ = true;
  prekeys_low_ = false;
  pb::Request up;
  add_new_one_time_prekeys(*up.mutable_upload_prekeys());
  auto answer = call(up);
  replenishing_ = false;
  if (answer.has_error()) warn("could not upload new prekeys: " + server_says(answer.error()));
}

// ---------------------------------------------------------------------------
// Requests and the dispatcher

pb::Response Messenger::call(pb::Request& request) {
  connect();
  uint64_t id = conn_->queue(request);
  calls_[id] = PendingCall{};
  uint64_t deadline = now_ms() + options_.request_timeout_ms;
  conn_->flush(deadline);
  bool answered = pump(deadline, [&] { return calls_[id].answer.has_value(); });
  if (!answered) {
    calls_.erase(id);
    throw ClientError(ExitCode::unreachable,
                      "no answer from the server within " +
                          std::to_string(options_.request_timeout_ms / 1000) + " s");
  }
  auto answer = std::move(*calls_[id].answer);
  calls_.erase(id);
  return answer;
}

bool Messenger::pump(uint64_t deadline_ms, const std::function<bool()>& until) {
  for (;;) {
    if (until && until()) return true;
    auto r = conn_->next(deadline_ms);
    if (!r) return until && until();
    handle(*r);
    maintain_prekeys();
  }
}

void Messenger::pump_now() {
  conn_->pump_now();
  while (auto r = conn_->next_now()) handle(*r);
  maintain_prekeys();
}

void Messenger::ping() {
  pb::Request p;
  p.mutable_ping();
  conn_->queue(p);
  conn_->flush(now_ms() + options_.request_timeout_ms);
}

void Messenger::handle(pb::Response& response) {
  uint64_t id = response.id();
  if (id == 0) {
    if (response.has_envelopes()) handle_envelopes(response.envelopes());
    if (response.has_prekeys_low()) prekeys_low_ = true;
    return;
  }
  if (auto it = calls_.find(id); it != calls_.end()) {
    it->second.answer = std::move(response);
    return;
  }
  if (auto it = pending_sends_.find(id); it != pending_sends_.end()) {
    uint64_t client_id = it->second;
    pending_sends_.erase(it);
    handle_send_answer(client_id, response);
    return;
  }
  if (pending_acks_.erase(id)) {
    if (response.has_error()) warn("the server could not take an acknowledgement; it will resend");
    return;
  }
  // Answers to requests we no longer wait for (Receiving, Pong): nothing to do.
}

void Messenger::handle_send_answer(uint64_t client_id, const pb::Response& response) {
  auto item = store_->out_item(client_id);
  if (response.has_sent()) {
    store_->set_state(client_id, OutState::sent);
    if (item && item->kind == OutKind::text && events_.sent) events_.sent(*item);
    return;
  }
  std::string who = item ? item->recipient : "?";
  if (response.has_error()) {
    const auto& e = response.error();
    if (e.code() == pb::IDENTITY_MISMATCH) {
      // Kept in the outbox; encrypted again once the new key is accepted.
      if (std::find(identity_checks_.begin(), identity_checks_.end(), who) ==
          identity_checks_.end())
        identity_checks_.push_back(who);
      record_failure(client_id, ClientError(ExitCode::identity_changed,
                                            "the identity key of " + who +
                                                " changed: compare safety numbers, then accept "
                                                "it with: ferry safety-number " +
                                                who + " --accept"));
      return;
    }
    if (e.code() == pb::UNKNOWN_USER || e.code() == pb::BAD_REQUEST) {
      // Permanent: the message cannot ever be delivered; stop trying.
      store_->set_state(client_id, OutState::failed);
    }
    record_failure(client_id, server_error(e, who));
  }
}

// ---------------------------------------------------------------------------
// Sending

uint64_t Messenger::enqueue_text(const std::string& to, const std::string& text) {
  require_registered();
  if (!valid_username(to)) throw ClientError(ExitCode::usage, "not a username: " + to);
  if (text.empty()) throw ClientError(ExitCode::usage, "nothing to send");
  if (text.size() > kMaxText)
    throw ClientError(ExitCode::usage, "message too long (at most 16 KiB)");
  pb::Content c;
  c.mutable_text()->set_text(text);
  uint64_t client_id = random_u64();
  store_->enqueue(to, client_id, OutKind::text, content_bytes(c), text, unix_ms());
  return client_id;
}

void Messenger::start_session_with(const std::string& peer) {
  pb::Request fetch;
  fetch.mutable_fetch_bundle()->set_username(peer);
  auto answer = call(fetch);
  if (answer.has_error()) {
    if (answer.error().code() == pb::NO_PREKEYS)
      throw ClientError(ExitCode::error, peer + " has not finished registering (no prekeys)");
    throw server_error(answer.error(), peer);
  }
  if (!answer.has_bundle()) throw ClientError(ExitCode::error, "bad answer from the server");
  const auto& b = answer.bundle();
  auto identity = crypto::IdentityPublicKey::from_bytes(crypto::as_bytes(b.identity_key()));
  auto spk_key = crypto::public_key_from(crypto::as_bytes(b.signed_prekey().public_key()));
  if (!identity || !spk_key || b.signed_prekey().signature().size() != crypto::kSignatureLen)
    throw ClientError(ExitCode::error, "the server sent a malformed prekey bundle for " + peer);
  crypto::PrekeyBundle bundle{*identity, {}, std::nullopt};
  bundle.signed_prekey.id = b.signed_prekey().id();
  bundle.signed_prekey.public_key = *spk_key;
  std::copy(b.signed_prekey().signature().begin(), b.signed_prekey().signature().end(),
            bundle.signed_prekey.signature.begin());
  if (b.has_one_time_prekey()) {
    auto otk = crypto::public_key_from(crypto::as_bytes(b.one_time_prekey().public_key()));
    if (!otk) throw ClientError(ExitCode::error, "malformed one-time prekey for " + peer);
    bundle.one_time_prekey = crypto::OneTimePrekey{b.one_time_prekey().id(), *otk};
  }
  db::Transaction tx(store_->db());
  try {
    e2e_->start_session(peer, bundle);
  } catch (const ClientError&) {
    tx.commit();  // keep the note of a changed identity key
    throw;
  }
  tx.commit();
}

bool Messenger::seal_item(OutItem& item) {
  if (!e2e_->has_session(item.recipient)) start_session_with(item.recipient);
  db::Transaction tx(store_->db());
  auto sealed = e2e_->seal(item.recipient, item.body);
  if (!sealed) return false;
  store_->seal(item.seq, *sealed);
  tx.commit();
  item.sealed = std::move(*sealed);
  return true;
}

void Messenger::send_queued() {
  connect();
  // Recipients whose next message could not go, and why: later messages to
  // them wait too, so none overtakes it.
  std::map<std::string, ClientError> blocked;
  std::unordered_map<uint64_t, bool> in_flight;
  for (auto& [rid, cid] : pending_sends_) in_flight[cid] = true;
  for (auto& item : store_->queued()) {
    if (in_flight.count(item.client_id)) continue;
    if (auto b = blocked.find(item.recipient); b != blocked.end()) {
      record_failure(item.client_id, b->second);
      continue;
    }
    if (item.sealed.empty()) {
      try {
        if (!seal_item(item)) {
          blocked.emplace(item.recipient,
                          ClientError(ExitCode::error, "no session with " + item.recipient));
          continue;
        }
      } catch (const ClientError& e) {
        if (e.code() == ExitCode::unreachable) throw;
        blocked.emplace(item.recipient, e);
        record_failure(item.client_id, e);
        if (e.code() == ExitCode::unknown_user) store_->set_state(item.client_id, OutState::failed);
        continue;
      }
    }
    pb::Request req;
    auto* s = req.mutable_send();
    s->set_recipient(item.recipient);
    s->set_client_id(item.client_id);
    s->set_content(item.sealed);
    if (auto c = store_->contact(item.recipient)) s->set_recipient_identity(c->identity_key);
    uint64_t rid = conn_->queue(req);
    pending_sends_[rid] = item.client_id;
    failures_.erase(item.client_id);
    if (pending_sends_.size() >= kSendWindow) {
      uint64_t deadline = now_ms() + options_.request_timeout_ms;
      conn_->flush(deadline);
      if (!pump(deadline, [&] { return pending_sends_.size() < kSendWindow / 2; }))
        throw ClientError(ExitCode::unreachable, "the server stopped answering");
    }
  }
  conn_->flush(now_ms() + options_.request_timeout_ms);
}

void Messenger::flush_outbox(uint64_t deadline_ms) {
  send_queued();
  if (!pump(deadline_ms, [&] { return pending_sends_.empty(); }))
    throw ClientError(ExitCode::unreachable, "the server did not confirm every message in time");
  check_identities();
}

void Messenger::check_identities() {
  auto peers = std::move(identity_checks_);
  identity_checks_.clear();
  for (const auto& peer : peers) {
    try {
      start_session_with(peer);  // notes the new key as pending, then throws
    } catch (const ClientError& e) {
      if (e.code() != ExitCode::identity_changed) throw;
    }
  }
}

std::optional<ClientError> Messenger::failure(uint64_t client_id) const {
  auto it = failures_.find(client_id);
  if (it == failures_.end()) return std::nullopt;
  return it->second;
}

// ---------------------------------------------------------------------------
// Receiving

void Messenger::start_receiving() {
  connect();
  if (receiving_) return;
  receiving_ = true;
  drained_ = false;
  pb::Request r;
  r.mutable_receive();
  conn_->queue(r);
  conn_->flush(now_ms() + options_.request_timeout_ms);
}

void Messenger::process_held() {
  for (const auto& sender : store_->held_senders()) {
    auto c = store_->contact(sender);
    if (c && !c->pending_identity_key.empty()) continue;
    pb::Envelopes batch;
    for (auto& h : store_->held(sender)) {
      auto* e = batch.add_envelopes();
      e->set_id(h.id);  // local: handle_envelopes drops it by this id
      e->set_sender(h.sender);
      e->set_client_id(h.client_id);
      e->set_content(h.content);
    }
    handle_envelopes(batch, /*held=*/true);
  }
}

void Messenger::handle_envelopes(const pb::Envelopes& envelopes, bool held) {
  std::vector<uint64_t> acks;
  std::map<std::string, std::vector<uint64_t>> receipts;
  std::map<std::string, int> delivered;
  int undecryptable = 0;
  int bad_sender = 0;
  int not_held = 0;
  {
    db::Transaction tx(store_->db());
    for (const auto& env : envelopes.envelopes()) {
      // Held ones leave the held table in the transaction that stores them
      // (the server forgot them when they were held: no ack).
      if (held) {
        store_->drop_held(env.id());
      } else {
        acks.push_back(env.id());
      }
      const std::string& sender = env.sender();
      // The server checks names at registration: any other is its forgery
      // (a name with a newline or escape codes would pass for another line).
      if (!valid_username(sender)) {
        ++bad_sender;
        continue;
      }
      if (store_->in_inbox(sender, env.client_id())) continue;  // already stored: ack again
      auto opened = e2e_->open(sender, env.content());
      switch (opened.status) {
        case E2E::Status::duplicate:
          continue;
        case E2E::Status::identity_changed:
          if (!store_->hold(HeldEnvelope{0, sender, env.client_id(), env.content()})) ++not_held;
          if (std::find(identity_changes_.begin(), identity_changes_.end(), sender) ==
              identity_changes_.end())
            identity_changes_.push_back(sender);
          continue;
        case E2E::Status::undecryptable:
          ++undecryptable;
          continue;
        case E2E::Status::ok:
          break;
      }
      pb::Content content;
      if (!content.ParseFromString(opened.plaintext)) {
        ++undecryptable;
        continue;
      }
      if (content.has_text()) {
        store_->add_to_inbox(sender, env.client_id(), content.text().text(),
                             static_cast<int64_t>(content.sent_at_ms()), unix_ms());
        receipts[sender].push_back(env.client_id());
        ++messages_received_;
      } else if (content.has_receipt()) {
        std::vector<uint64_t> ids(content.receipt().client_ids().begin(),
                                  content.receipt().client_ids().end());
        delivered[sender] += store_->mark_delivered(sender, ids);
      }
    }
    // "Stored" receipts go back to each sender (one per sender per batch).
    for (auto& [sender, ids] : receipts) {
      pb::Content c;
      for (uint64_t id : ids) c.mutable_receipt()->add_client_ids(id);
      store_->enqueue(sender, random_u64(), OutKind::receipt, content_bytes(c), "", unix_ms());
    }
    tx.commit();
  }
  // Only now, with everything stored, may the server forget them.
  if (receiving_ && conn_ && !acks.empty()) {
    for (size_t i = 0; i < acks.size(); i += kMaxAcksPerRequest) {
      pb::Request ack;
      for (size_t j = i; j < std::min(acks.size(), i + kMaxAcksPerRequest); ++j)
        ack.mutable_ack()->add_envelope_ids(acks[j]);
      pending_acks_[conn_->queue(ack)] = true;
    }
  }
  if (undecryptable > 0)
    warn(std::to_string(undecryptable) + " message(s) could not be decrypted and were dropped");
  if (not_held > 0)
    warn(std::to_string(not_held) +
         " message(s) from a contact whose key changed were dropped: too many are held already");
  if (bad_sender > 0)
    warn(std::to_string(bad_sender) + " message(s) named an impossible sender and were dropped");
  if (events_.message) {
    for (const auto& item : store_->unshown()) {
      events_.message(item);
      store_->mark_shown(item.id);
    }
  }
  if (events_.delivered)
    for (auto& [peer, n] : delivered)
      if (n > 0) events_.delivered(peer, n);
  if (envelopes.drained()) drained_ = true;
}

}  // namespace ferry::chat::client
