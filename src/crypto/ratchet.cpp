#include "crypto/ratchet.h"

#include <algorithm>
#include <limits>

#include "crypto/kdf.h"
#include "crypto/primitives/aes_cbc.h"
#include "crypto/ratchet_kdf.h"
#include "crypto/ratchet_message.h"
#include "crypto/x3dh.h"

namespace ferry::crypto {
namespace {

using ratchet_wire::kMacLen;

PublicKey to_public(const Bytes& b) {
  PublicKey k{};
  std::copy_n(b.begin(), std::min(b.size(), k.size()), k.begin());
  return k;
}

void compute_mac(const MessageKeys& keys, ByteView ad, ByteView authenticated, uint8_t* out) {
  Bytes data(ad.begin(), ad.end());
  data.insert(data.end(), authenticated.begin(), authenticated.end());
  hmac_sha256(keys.mac_key.view(), data, out);
}

// Verifies the MAC (constant time) before anything is decrypted.
Result<Bytes> open(const MessageKeys& keys, ByteView ad, const ratchet_wire::NormalMessage& m) {
  uint8_t mac[kMacLen];
  compute_mac(keys, ad, m.authenticated, mac);
  if (!ct_equal(ByteView(mac, kMacLen), m.mac))
    return make_error(Errc::auth_failed, "message MAC mismatch");
  auto pt = aes256_cbc_decrypt(keys.cipher_key.view(), keys.iv.view(), m.ciphertext);
  if (!pt) return pt.error();
  if (pt->size() > kMaxRatchetPlaintext) return make_error(Errc::too_large, "plaintext too large");
  return pt;
}

}  // namespace

Bytes RatchetSession::associated_data() const {
  // AD = IK_A || IK_B, A being the session's initiator.
  const IdentityPublicKey& a = initiator_ ? local_identity_ : remote_identity_;
  const IdentityPublicKey& b = initiator_ ? remote_identity_ : local_identity_;
  Bytes ad(a.bytes().begin(), a.bytes().end());
  ad.insert(ad.end(), b.bytes().begin(), b.bytes().end());
  return ad;
}

Result<RatchetSession> RatchetSession::initiate(const IdentityKeyPair& ours,
                                                const PrekeyBundle& theirs) {
  auto x = x3dh_initiate(ours, theirs);
  if (!x) return x.error();
  RatchetSession s(ours.public_key(), theirs.identity);
  s.initiator_ = true;
  // RatchetInitAlice: DHs fresh, DHr = the signed prekey.
  s.st_.ratchet = dh_generate(DhKind::x25519);
  s.st_.remote = x->remote_signed_prekey;
  auto shared = dh(s.st_.ratchet, x->remote_signed_prekey);
  if (!shared) return shared.error();
  RootStep step = kdf_root(x->shared_key, view(*shared));
  s.st_.root = step.root_key;
  s.st_.send = step.chain_key;
  s.pending_prekey_ = PrekeyInfo{x->ephemeral_public, x->signed_prekey_id, x->one_time_prekey_id};
  return s;
}

Result<AcceptedSession> RatchetSession::accept(const IdentityKeyPair& ours,
                                               const SignedPrekeyPair& signed_prekey,
                                               const OneTimePrekeyPair* one_time_prekey,
                                               ByteView prekey_message) {
  auto wrapper = ratchet_wire::decode_prekey(prekey_message);
  if (!wrapper) return wrapper.error();
  auto identity = IdentityPublicKey::from_bytes(wrapper->sender_identity);
  if (!identity) return identity.error();
  if (signed_prekey.id != wrapper->signed_prekey_id ||
      wrapper->one_time_prekey_id.has_value() != (one_time_prekey != nullptr) ||
      (one_time_prekey != nullptr && one_time_prekey->id != *wrapper->one_time_prekey_id)) {
    return make_error(Errc::invalid_argument, "prekeys do not match the ones the message names");
  }
  auto x = x3dh_respond(ours, signed_prekey, one_time_prekey, *identity, wrapper->base_key);
  if (!x) return x.error();
  RatchetSession s(ours.public_key(), *identity);
  // RatchetInitBob: DHs = the signed prekey pair, RK = SK.
  s.st_.root = x->shared_key;
  s.st_.ratchet = signed_prekey.key;
  s.accepted_prekey_ =
      PrekeyInfo{wrapper->base_key, wrapper->signed_prekey_id, wrapper->one_time_prekey_id};
  auto plaintext = s.decrypt_normal(wrapper->inner);
  if (!plaintext) return plaintext.error();
  return AcceptedSession{std::move(s), std::move(*plaintext)};
}

Result<Bytes> RatchetSession::encrypt(ByteView plaintext) {
  if (!st_.send) return make_error(Errc::invalid_state, "no sending chain yet");
  if (plaintext.size() > kMaxRatchetPlaintext)
    return make_error(Errc::too_large, "plaintext too large");
  if (st_.send_n == std::numeric_limits<uint32_t>::max()) {
    return make_error(Errc::invalid_state, "sending chain exhausted");
  }
  ChainStep step = kdf_chain(*st_.send);
  MessageKeys keys = kdf_message_keys(step.message_seed);
  auto ct = aes256_cbc_encrypt(keys.cipher_key.view(), keys.iv.view(), plaintext);
  if (!ct) return ct.error();
  Bytes msg = ratchet_wire::encode_normal_body(to_public(st_.ratchet.public_key), st_.prev_send_n,
                                               st_.send_n, *ct);
  uint8_t mac[kMacLen];
  compute_mac(keys, associated_data(), msg, mac);
  msg.insert(msg.end(), mac, mac + kMacLen);
  st_.send = step.next_chain_key;
  ++st_.send_n;
  if (!pending_prekey_) return msg;
  return ratchet_wire::encode_prekey(local_identity_.bytes(), pending_prekey_->base_key,
                                     pending_prekey_->signed_prekey_id,
                                     pending_prekey_->one_time_prekey_id, msg);
}

Result<Bytes> RatchetSession::decrypt(ByteView message) {
  auto type = peek_message_type(message);
  if (!type) return type.error();
  Result<Bytes> out = make_error(Errc::internal, "");
  if (*type == RatchetMessageType::prekey) {
    auto wrapper = ratchet_wire::decode_prekey(message);
    if (!wrapper) return wrapper.error();
    PrekeyInfo info{wrapper->base_key, wrapper->signed_prekey_id, wrapper->one_time_prekey_id};
    // A prekey message for this session repeats exactly what we accepted;
    // anything else starts another session (RatchetSession::accept).
    if (initiator_ || !accepted_prekey_ || !(info == *accepted_prekey_) ||
        !std::equal(wrapper->sender_identity.begin(), wrapper->sender_identity.end(),
                    remote_identity_.bytes().begin(), remote_identity_.bytes().end())) {
      return make_error(Errc::invalid_state, "prekey message for another session");
    }
    out = decrypt_normal(wrapper->inner);
  } else {
    out = decrypt_normal(message);
  }
  if (out && initiator_) pending_prekey_.reset();  // the other side has the session
  return out;
}

Result<void> RatchetSession::skip_keys(Chains& c, uint32_t until, std::vector<SkippedKey>& fresh) {
  if (!c.recv || until <= c.recv_n) return {};
  if (uint64_t{until} - c.recv_n + fresh.size() > kMaxSkippedKeys) {
    return make_error(Errc::too_many_skipped, "message skips too many keys");
  }
  while (c.recv_n < until) {
    ChainStep step = kdf_chain(*c.recv);
    fresh.push_back(SkippedKey{*c.remote, c.recv_n, step.message_seed});
    c.recv = step.next_chain_key;
    ++c.recv_n;
  }
  return {};
}

void RatchetSession::keep_skipped(std::vector<SkippedKey>&& fresh) {
  skipped_.insert(skipped_.end(), std::make_move_iterator(fresh.begin()),
                  std::make_move_iterator(fresh.end()));
  if (skipped_.size() > kMaxSkippedKeys) {
    skipped_.erase(skipped_.begin(), skipped_.begin() + static_cast<std::ptrdiff_t>(
                                                            skipped_.size() - kMaxSkippedKeys));
  }
}

Result<Bytes> RatchetSession::decrypt_normal(ByteView message) {
  auto m = ratchet_wire::decode_normal(message);
  if (!m) return m.error();
  const Bytes ad = associated_data();

  // A key skipped earlier: use it once, then forget it.
  for (auto it = skipped_.begin(); it != skipped_.end(); ++it) {
    if (it->n == m->n && it->ratchet_key == m->ratchet_key) {
      auto pt = open(kdf_message_keys(it->seed), ad, *m);
      if (pt) skipped_.erase(it);
      return pt;
    }
  }
  if (m->n == std::numeric_limits<uint32_t>::max())
    return make_error(Errc::malformed, "message number too large");

  Chains next = st_;
  std::vector<SkippedKey> fresh;
  if (std::find(next.old_remotes.begin(), next.old_remotes.end(), m->ratchet_key) !=
      next.old_remotes.end()) {
    return make_error(Errc::replayed, "message key already used or deleted");
  }
  if (!next.remote || *next.remote != m->ratchet_key) {
    // DH ratchet step (spec section 3.5), after keeping the keys the old
    // receiving chain still owes us.
    if (auto r = skip_keys(next, m->previous_chain_length, fresh); !r) return r.error();
    auto shared = dh(next.ratchet, m->ratchet_key);
    if (!shared) return shared.error();
    RootStep recv = kdf_root(next.root, view(*shared));
    next.prev_send_n = next.send_n;
    next.send_n = 0;
    next.recv_n = 0;
    if (next.remote) {
      next.old_remotes.push_back(*next.remote);
      if (next.old_remotes.size() > kMaxOldRatchetKeys)
        next.old_remotes.erase(next.old_remotes.begin());
    }
    next.remote = m->ratchet_key;
    next.recv = recv.chain_key;
    next.ratchet = dh_generate(DhKind::x25519);
    auto shared2 = dh(next.ratchet, m->ratchet_key);
    if (!shared2) return shared2.error();
    RootStep send = kdf_root(recv.root_key, view(*shared2));
    next.root = send.root_key;
    next.send = send.chain_key;
  }
  // The initiator before the first reply: the remote key is the signed
  // prekey and there is no receiving chain, so nothing can be opened on it.
  if (!next.recv) return make_error(Errc::auth_failed, "no receiving chain for this ratchet key");
  if (m->n < next.recv_n) return make_error(Errc::replayed, "message key already used or deleted");
  if (auto r = skip_keys(next, m->n, fresh); !r) return r.error();
  ChainStep step = kdf_chain(*next.recv);
  next.recv = step.next_chain_key;
  next.recv_n = m->n + 1;
  auto pt = open(kdf_message_keys(step.message_seed), ad, *m);
  if (!pt) return pt.error();
  st_ = std::move(next);
  keep_skipped(std::move(fresh));
  return pt;
}

}  // namespace ferry::crypto
