#include "crypto/noise/handshake_state.h"

#include <algorithm>

namespace ferry::crypto::noise {
namespace {

bool has_token(const std::vector<Token>& tokens, Token t) {
  return std::find(tokens.begin(), tokens.end(), t) != tokens.end();
}

bool pattern_uses_local_static(const HandshakePattern& p, Role role) {
  bool initiator = role == Role::initiator;
  if (has_token(initiator ? p.initiator_premessage : p.responder_premessage, Token::s)) return true;
  for (size_t i = 0; i < p.messages.size(); ++i) {
    bool mine = (i % 2 == 0) == initiator;
    for (Token t : p.messages[i]) {
      if (t == Token::ss) return true;
      if (t == Token::s && mine) return true;
      // In initiator-relative form the initiator's static is the first
      // letter of "se", the responder's the second letter of "es".
      if (t == Token::se && initiator) return true;
      if (t == Token::es && !initiator) return true;
    }
  }
  return false;
}

Result<void> check_public(const std::optional<Bytes>& key, DhKind kind, std::string_view what) {
  if (key && key->size() != dh_len(kind)) return make_error(Errc::invalid_argument, what);
  return {};
}

Result<void> check_pair(const std::optional<DhKeyPair>& kp, DhKind kind, std::string_view what) {
  if (kp && (kp->kind != kind || kp->public_key.size() != dh_len(kind) ||
             kp->private_key.size() != dh_len(kind))) {
    return make_error(Errc::invalid_argument, what);
  }
  return {};
}

}  // namespace

HandshakeState::HandshakeState(const Protocol& protocol, HandshakeConfig&& config)
    : protocol_(protocol),
      role_(config.role),
      symmetric_(protocol.hash, protocol.cipher, protocol.name),
      s_(std::move(config.s)),
      e_(std::move(config.e)),
      rs_(std::move(config.rs)),
      re_(std::move(config.re)),
      psks_(std::move(config.psks)) {}

Result<HandshakeState> HandshakeState::create(std::string_view protocol_name,
                                              HandshakeConfig config) {
  auto protocol = parse_protocol(protocol_name);
  if (!protocol) return protocol.error();
  return create(*protocol, std::move(config));
}

Result<HandshakeState> HandshakeState::create(const Protocol& protocol, HandshakeConfig config) {
  const HandshakePattern& p = protocol.pattern;
  const DhKind kind = protocol.dh;
  for (auto r : {check_pair(config.s, kind, "static key pair has the wrong type or length"),
                 check_pair(config.e, kind, "ephemeral key pair has the wrong type or length"),
                 check_public(config.rs, kind, "remote static key has the wrong length"),
                 check_public(config.re, kind, "remote ephemeral key has the wrong length")}) {
    if (!r) return r.error();
  }
  const bool initiator = config.role == Role::initiator;
  const auto& my_pre = initiator ? p.initiator_premessage : p.responder_premessage;
  const auto& their_pre = initiator ? p.responder_premessage : p.initiator_premessage;
  if (has_token(my_pre, Token::e) && !config.e) {
    return make_error(Errc::invalid_argument, "pattern needs our pre-message ephemeral");
  }
  if (has_token(their_pre, Token::s) && !config.rs) {
    return make_error(Errc::invalid_argument, "pattern needs the remote static key");
  }
  if (has_token(their_pre, Token::e) && !config.re) {
    return make_error(Errc::invalid_argument, "pattern needs the remote ephemeral key");
  }
  if (pattern_uses_local_static(p, config.role) && !config.s) {
    return make_error(Errc::invalid_argument, "pattern needs our static key pair");
  }
  const size_t psks_needed = protocol.legacy_psk ? 1 : p.psk_count();
  if (config.psks.size() != psks_needed) {
    return make_error(Errc::invalid_argument, "wrong number of pre-shared keys");
  }
  for (const auto& psk : config.psks) {
    if (psk.size() != 32) return make_error(Errc::invalid_argument, "pre-shared keys are 32 bytes");
  }

  const bool e_is_premessage = has_token(my_pre, Token::e);
  ByteView prologue = config.prologue;
  HandshakeState hs(protocol, std::move(config));
  hs.e_preset_ = hs.e_.has_value() && !e_is_premessage;
  hs.symmetric_.mix_hash(prologue);
  if (protocol.legacy_psk) hs.symmetric_.mix_legacy_psk(view(hs.psks_[0]));

  // Pre-message keys: the initiator's first, each in the order listed.
  auto mix_pre = [&hs](const std::vector<Token>& tokens, bool local) {
    for (Token t : tokens) {
      ByteView key;
      if (t == Token::s) {
        key = local ? ByteView(hs.s_->public_key) : ByteView(*hs.rs_);
      } else {
        key = local ? ByteView(hs.e_->public_key) : ByteView(*hs.re_);
      }
      hs.symmetric_.mix_hash(key);
      if (t == Token::e && (hs.protocol_.pattern.psk_mode || hs.protocol_.legacy_psk))
        hs.symmetric_.mix_key(key);
    }
  };
  mix_pre(p.initiator_premessage, initiator);
  mix_pre(p.responder_premessage, !initiator);
  return hs;
}

bool HandshakeState::my_message(size_t index) const {
  return (index % 2 == 0) == (role_ == Role::initiator);
}

bool HandshakeState::needs_write() const {
  return !failed_ && !complete_ && my_message(next_message_);
}

bool HandshakeState::needs_read() const {
  return !failed_ && !complete_ && !my_message(next_message_);
}

Result<void> HandshakeState::mix_dh(const std::optional<DhKeyPair>& local,
                                    const std::optional<Bytes>& remote) {
  if (!local || !remote) return make_error(Errc::invalid_state, "DH key missing");
  auto shared = dh(*local, *remote);
  if (!shared) return shared.error();
  symmetric_.mix_key(view(*shared));
  return {};
}

Result<void> HandshakeState::process_dh(Token t) {
  const bool initiator = role_ == Role::initiator;
  switch (t) {
    case Token::ee:
      return mix_dh(e_, re_);
    case Token::es:
      return initiator ? mix_dh(e_, rs_) : mix_dh(s_, re_);
    case Token::se:
      return initiator ? mix_dh(s_, re_) : mix_dh(e_, rs_);
    case Token::ss:
      return mix_dh(s_, rs_);
    default:
      return make_error(Errc::internal, "not a DH token");
  }
}

// The "psk" token, the same whether writing or reading (Noise rev 34 §9.2).
Result<void> HandshakeState::mix_next_psk() {
  if (next_psk_ >= psks_.size()) return make_error(Errc::invalid_state, "no pre-shared key left");
  symmetric_.mix_key_and_hash(view(psks_[next_psk_++]));
  return {};
}

// The exact length of a message we are about to write, so an oversized
// payload is refused before any state changes.
static size_t message_length(const Protocol& protocol, const std::vector<Token>& tokens,
                             bool has_key, size_t payload_len) {
  const size_t dhlen = dh_len(protocol.dh);
  const bool e_keys = protocol.pattern.psk_mode || protocol.legacy_psk;
  size_t len = 0;
  for (Token t : tokens) {
    if (t == Token::e) {
      len += dhlen;
      has_key = has_key || e_keys;
    } else if (t == Token::s) {
      len += dhlen + (has_key ? kTagLen : 0);
    } else {
      has_key = true;  // DH and psk tokens call MixKey
    }
  }
  return len + payload_len + (has_key ? kTagLen : 0);
}

Result<void> HandshakeState::write_tokens(const std::vector<Token>& tokens, Bytes& out) {
  const bool e_keys = protocol_.pattern.psk_mode || protocol_.legacy_psk;
  for (Token t : tokens) {
    switch (t) {
      case Token::e: {
        if (!e_preset_) e_ = dh_generate(protocol_.dh);
        e_preset_ = false;
        out.insert(out.end(), e_->public_key.begin(), e_->public_key.end());
        symmetric_.mix_hash(e_->public_key);
        if (e_keys) symmetric_.mix_key(e_->public_key);
        break;
      }
      case Token::s: {
        if (!s_) return make_error(Errc::invalid_state, "no static key to send");
        auto r = symmetric_.encrypt_and_hash(s_->public_key, out);
        if (!r) return r;
        break;
      }
      case Token::psk: {
        auto r = mix_next_psk();
        if (!r) return r;
        break;
      }
      default: {
        auto r = process_dh(t);
        if (!r) return r;
      }
    }
  }
  return {};
}

Result<void> HandshakeState::read_tokens(const std::vector<Token>& tokens, ByteReader& in) {
  const size_t dhlen = dh_len(protocol_.dh);
  const bool e_keys = protocol_.pattern.psk_mode || protocol_.legacy_psk;
  for (Token t : tokens) {
    switch (t) {
      case Token::e: {
        ByteView key;
        if (!in.take(dhlen, key)) return make_error(Errc::malformed, "handshake message too short");
        re_ = Bytes(key.begin(), key.end());
        symmetric_.mix_hash(key);
        if (e_keys) symmetric_.mix_key(key);
        break;
      }
      case Token::s: {
        ByteView enc;
        if (!in.take(dhlen + (symmetric_.has_key() ? kTagLen : 0), enc)) {
          return make_error(Errc::malformed, "handshake message too short");
        }
        Bytes key;
        auto r = symmetric_.decrypt_and_hash(enc, key);
        if (!r) return r;
        rs_ = std::move(key);
        break;
      }
      case Token::psk: {
        auto r = mix_next_psk();
        if (!r) return r;
        break;
      }
      default: {
        auto r = process_dh(t);
        if (!r) return r;
      }
    }
  }
  return {};
}

void HandshakeState::finish_message() {
  ++next_message_;
  if (next_message_ == protocol_.pattern.messages.size()) complete_ = true;
}

Result<Bytes> HandshakeState::write_message(ByteView payload) {
  if (failed_ || complete_) return make_error(Errc::invalid_state, "handshake is over");
  if (!my_message(next_message_)) return make_error(Errc::invalid_state, "not our turn to write");
  const auto& tokens = protocol_.pattern.messages[next_message_];
  if (payload.size() > kMaxMessageLen ||
      message_length(protocol_, tokens, symmetric_.has_key(), payload.size()) > kMaxMessageLen) {
    return make_error(Errc::too_large, "handshake message over 65535 bytes");
  }
  Bytes out;
  out.reserve(message_length(protocol_, tokens, symmetric_.has_key(), payload.size()));
  auto r = write_tokens(tokens, out);
  if (r) r = symmetric_.encrypt_and_hash(payload, out);
  if (!r) {
    failed_ = true;
    return r.error();
  }
  finish_message();
  return out;
}

Result<Bytes> HandshakeState::read_message(ByteView message) {
  if (failed_ || complete_) return make_error(Errc::invalid_state, "handshake is over");
  if (my_message(next_message_)) return make_error(Errc::invalid_state, "not our turn to read");
  failed_ = true;  // cleared below only if the whole message is good
  if (message.size() > kMaxMessageLen)
    return make_error(Errc::too_large, "handshake message over 65535 bytes");
  ByteReader in(message);
  auto r = read_tokens(protocol_.pattern.messages[next_message_], in);
  if (!r) return r.error();
  ByteView rest = in.rest();
  if (symmetric_.has_key() && rest.size() < kTagLen) {
    return make_error(Errc::malformed, "handshake message too short");
  }
  Bytes payload;
  r = symmetric_.decrypt_and_hash(rest, payload);
  if (!r) return r.error();
  failed_ = false;
  finish_message();
  return payload;
}

Result<std::pair<CipherState, CipherState>> HandshakeState::split_pair() const {
  if (!complete_) return make_error(Errc::invalid_state, "handshake not complete");
  return symmetric_.split();
}

Result<Transport> HandshakeState::split() const {
  auto pair = split_pair();
  if (!pair) return pair.error();
  auto& [c1, c2] = *pair;
  if (protocol_.pattern.one_way()) {
    // Only the initiator sends; the second CipherState is discarded.
    CipherState none(protocol_.cipher);
    if (role_ == Role::initiator) return Transport{std::move(c1), none};
    return Transport{none, std::move(c1)};
  }
  if (role_ == Role::initiator) return Transport{std::move(c1), std::move(c2)};
  return Transport{std::move(c2), std::move(c1)};
}

std::optional<ByteView> HandshakeState::remote_static() const {
  if (!rs_) return std::nullopt;
  return ByteView(*rs_);
}

std::optional<ByteView> HandshakeState::remote_ephemeral() const {
  if (!re_) return std::nullopt;
  return ByteView(*re_);
}

std::optional<ByteView> HandshakeState::local_ephemeral_public() const {
  if (!e_ || e_preset_) return std::nullopt;
  return ByteView(e_->public_key);
}

}  // namespace ferry::crypto::noise
