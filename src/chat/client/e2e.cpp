#include "chat/client/e2e.h"

#include "chat/client/errors.h"
#include "crypto/ratchet.h"

namespace ferry::chat::client {
namespace {

std::string to_string(crypto::ByteView v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

}  // namespace

bool E2E::has_session(const std::string& peer) {
  return !store_.sessions(peer).empty();
}

void E2E::start_session(const std::string& peer, const crypto::PrekeyBundle& bundle) {
  // X3DH checks the bundle first (the signed prekey's signature, docs/
  // protocol.md 3.4): one that fails is malformed, and its identity key
  // counts for nothing, not even as news of a changed key.
  auto session = crypto::RatchetSession::initiate(me_, bundle);
  if (!session)
    throw ClientError(ExitCode::error, "cannot start a session with " + peer + ": " +
                                           std::string(session.error().detail));
  std::string identity = to_string(bundle.identity.bytes());
  auto contact = store_.contact(peer);
  if (contact && contact->identity_key != identity) {
    store_.set_pending_identity(peer, identity);
    throw ClientError(ExitCode::identity_changed,
                      "the identity key of " + peer +
                          " changed: compare safety numbers, then accept it with: ferry "
                          "safety-number " +
                          peer + " --accept");
  }
  if (contact && !contact->pending_identity_key.empty())
    throw ClientError(ExitCode::identity_changed, "the identity key of " + peer +
                                                      " changed and is not accepted yet: ferry "
                                                      "safety-number " +
                                                      peer + " --accept");
  if (!contact) store_.put_contact(peer, identity);
  store_.add_session(peer, crypto::chars(session->serialize()));
}

std::optional<std::string> E2E::seal(const std::string& peer, std::string_view plaintext) {
  auto contact = store_.contact(peer);
  if (contact && !contact->pending_identity_key.empty())
    throw ClientError(ExitCode::identity_changed, "the identity key of " + peer +
                                                      " changed and is not accepted yet: ferry "
                                                      "safety-number " +
                                                      peer + " --accept");
  auto sessions = store_.sessions(peer);
  if (sessions.empty()) return std::nullopt;
  auto session = crypto::RatchetSession::deserialize(crypto::view(sessions[0].state));
  if (!session) throw ClientError(ExitCode::error, "the session with " + peer + " is damaged");
  auto message = session->encrypt(crypto::as_bytes(plaintext));
  if (!message) throw ClientError(ExitCode::error, "cannot encrypt for " + peer);
  store_.update_session(sessions[0].id, crypto::chars(session->serialize()));
  return to_string(*message);
}

E2E::Opened E2E::open(const std::string& sender, std::string_view message) {
  auto bytes = crypto::as_bytes(message);
  auto type = crypto::peek_message_type(bytes);
  if (!type) return {};
  auto contact = store_.contact(sender);
  if (*type == crypto::RatchetMessageType::prekey) {
    auto info = crypto::parse_prekey_message(bytes);
    if (!info) return {};
    std::string identity = to_string(info->sender_identity.bytes());
    if (contact && contact->identity_key != identity) {
      store_.set_pending_identity(sender, identity);
      return {Status::identity_changed, {}};
    }
  }
  // An existing session first: a prekey message may belong to one we have.
  // Every one was made with the accepted key, so what one opens is from
  // that key's owner, even while a new key waits to be accepted (accepting
  // it deletes them: what they open must not wait for that).
  bool replayed = false;
  for (const auto& stored : store_.sessions(sender)) {
    auto session = crypto::RatchetSession::deserialize(crypto::view(stored.state));
    if (!session) continue;
    auto plain = session->decrypt(bytes);
    if (plain) {
      store_.update_session(stored.id, crypto::chars(session->serialize()));
      return {Status::ok, to_string(crypto::ByteView(*plain))};
    }
    if (plain.code() == crypto::Errc::replayed) replayed = true;
  }
  if (replayed) return {Status::duplicate, {}};
  // Nothing we trust opens it: held until the new key is accepted.
  if (contact && !contact->pending_identity_key.empty()) return {Status::identity_changed, {}};
  if (*type == crypto::RatchetMessageType::prekey) return accept_prekey_message(sender, message);
  return {};
}

E2E::Opened E2E::accept_prekey_message(const std::string& sender, std::string_view message) {
  auto bytes = crypto::as_bytes(message);
  auto info = crypto::parse_prekey_message(bytes);
  if (!info) return {};
  // A replay of a first message whose session has moved on so far that it
  // no longer recognises it (and with no one-time prekey to have spent).
  const std::string base_key = to_string(crypto::ByteView(info->base_key));
  if (store_.base_key_accepted(base_key)) return {Status::duplicate, {}};
  auto spk_data = store_.signed_prekey(info->signed_prekey_id);
  if (!spk_data) return {};
  auto spk = crypto::SignedPrekeyPair::deserialize(crypto::view(*spk_data));
  if (!spk) return {};
  std::optional<crypto::OneTimePrekeyPair> otk;
  if (info->one_time_prekey_id) {
    auto data = store_.one_time_prekey(*info->one_time_prekey_id);
    // Not a replay (its base key would be known): the key was handed out
    // twice, or never was ours. Unreadable, and said so, not skipped quietly.
    if (!data) return {};
    auto parsed = crypto::OneTimePrekeyPair::deserialize(crypto::view(*data));
    if (!parsed) return {};
    otk = std::move(parsed).value();
  }
  auto accepted = crypto::RatchetSession::accept(me_, *spk, otk ? &*otk : nullptr, bytes);
  if (!accepted) return {};
  if (info->one_time_prekey_id) store_.delete_one_time_prekey(*info->one_time_prekey_id);
  store_.remember_base_key(base_key);
  if (!store_.contact(sender)) store_.put_contact(sender, to_string(info->sender_identity.bytes()));
  store_.add_session(sender, crypto::chars(accepted->session.serialize()));
  return {Status::ok, to_string(crypto::ByteView(accepted->plaintext))};
}

}  // namespace ferry::chat::client
