#include "crypto/noise/pipes.h"

namespace ferry::crypto::noise {
namespace {

Result<void> check_static(const DhKeyPair& kp) {
  if (kp.kind != DhKind::x25519 || kp.public_key.size() != 32 || kp.private_key.size() != 32) {
    return make_error(Errc::invalid_argument, "Noise Pipes needs an X25519 static key pair");
  }
  return {};
}

Bytes with_type(PipesType type, Bytes&& message) {
  Bytes out;
  out.reserve(message.size() + 1);
  out.push_back(static_cast<uint8_t>(type));
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

Result<HandshakeState> start(std::string_view name, Role role, ByteView prologue,
                             const DhKeyPair& s) {
  HandshakeConfig c;
  c.role = role;
  c.prologue = Bytes(prologue.begin(), prologue.end());
  c.s = s;
  return HandshakeState::create(name, std::move(c));
}

}  // namespace

// ---- client ----

Result<PipesInitiator> PipesInitiator::create(DhKeyPair local_static,
                                              std::optional<Bytes> pinned_server, ByteView prologue,
                                              PinPolicy policy) {
  if (auto r = check_static(local_static); !r) return r.error();
  if (pinned_server && pinned_server->size() != 32) {
    return make_error(Errc::invalid_argument, "pinned server key must be 32 bytes");
  }
  PipesInitiator p;
  p.static_ = std::move(local_static);
  p.pinned_ = std::move(pinned_server);
  p.prologue_ = Bytes(prologue.begin(), prologue.end());
  p.policy_ = policy;
  p.mode_ = p.pinned_ ? PipesType::ik : PipesType::xx;
  return p;
}

Result<Bytes> PipesInitiator::write_message(ByteView payload) {
  if (failed()) return make_error(Errc::invalid_state, "handshake failed");
  if (payload.size() > kMaxPipesPayload)
    return make_error(Errc::too_large, "handshake payload too large");
  if (!hs_) {
    HandshakeConfig c;
    c.role = Role::initiator;
    c.prologue = prologue_;
    c.s = static_;
    ephemeral_ = dh_generate(DhKind::x25519);
    c.e = ephemeral_;
    c.rs = pinned_;
    auto hs = HandshakeState::create(pinned_ ? kPipesIK : kPipesXX, std::move(c));
    if (!hs) {
      failed_ = true;
      return hs.error();
    }
    hs_ = std::move(*hs);
  }
  auto msg = hs_->write_message(payload);
  if (!msg) return msg.error();
  return with_type(mode_, std::move(*msg));
}

Result<Bytes> PipesInitiator::read_message(ByteView message) {
  if (failed()) return make_error(Errc::invalid_state, "handshake failed");
  if (!hs_ || !hs_->needs_read()) return make_error(Errc::invalid_state, "not our turn to read");
  if (message.empty()) {
    failed_ = true;
    return make_error(Errc::malformed, "empty handshake message");
  }
  auto type = static_cast<PipesType>(message[0]);
  ByteView body = message.subspan(1);
  if (mode_ == PipesType::ik && type == PipesType::xx_fallback && hs_->messages_done() == 1) {
    // The server could not read our IK message: become the XXfallback
    // responder with our IK ephemeral as the pre-message.
    HandshakeConfig c;
    c.role = Role::responder;
    c.prologue = prologue_;
    c.s = static_;
    c.e = ephemeral_;
    auto hs = HandshakeState::create(kPipesXXfallback, std::move(c));
    if (!hs) {
      failed_ = true;
      return hs.error();
    }
    hs_ = std::move(*hs);
    mode_ = PipesType::xx_fallback;
  } else if (type != mode_) {
    failed_ = true;
    return make_error(Errc::malformed, "unexpected handshake message type");
  }
  auto payload = hs_->read_message(body);
  if (!payload) return payload.error();
  if (mode_ == PipesType::xx_fallback && pinned_ && hs_->remote_static()) {
    key_changed_ = !ct_equal(*hs_->remote_static(), *pinned_);
    if (key_changed_ && policy_ == PinPolicy::strict) {
      failed_ = true;
      return make_error(Errc::bad_key, "server static key differs from the pinned key");
    }
  }
  return payload;
}

std::optional<ByteView> PipesInitiator::remote_static() const {
  return hs_ ? hs_->remote_static() : std::nullopt;
}

ByteView PipesInitiator::handshake_hash() const {
  return hs_ ? hs_->handshake_hash() : ByteView{};
}

Result<Transport> PipesInitiator::split() const {
  if (!hs_ || failed()) return make_error(Errc::invalid_state, "handshake not complete");
  // In XXfallback the client is the Noise responder; split() by role still
  // gives send = client -> server.
  return hs_->split();
}

// ---- server ----

Result<PipesResponder> PipesResponder::create(DhKeyPair local_static, ByteView prologue) {
  if (auto r = check_static(local_static); !r) return r.error();
  PipesResponder p;
  p.static_ = std::move(local_static);
  p.prologue_ = Bytes(prologue.begin(), prologue.end());
  return p;
}

Result<Bytes> PipesResponder::read_first(ByteView message) {
  auto type = static_cast<PipesType>(message[0]);
  ByteView body = message.subspan(1);
  if (type == PipesType::xx) {
    auto hs = start(kPipesXX, Role::responder, prologue_, static_);
    if (!hs) return hs.error();
    hs_ = std::move(*hs);
    mode_ = PipesType::xx;
    return hs_->read_message(body);
  }
  if (type != PipesType::ik) return make_error(Errc::malformed, "first message must be XX or IK");
  auto ik = start(kPipesIK, Role::responder, prologue_, static_);
  if (!ik) return ik.error();
  hs_ = std::move(*ik);
  mode_ = PipesType::ik;
  auto payload = hs_->read_message(body);
  if (payload) return payload;
  // Cannot decrypt (the client pinned another key, or garbage): switch to
  // XXfallback, reusing the client's ephemeral from the IK message.
  if (body.size() < 32) return make_error(Errc::malformed, "IK message too short for fallback");
  HandshakeConfig c;
  c.role = Role::initiator;
  c.prologue = prologue_;
  c.s = static_;
  c.re = Bytes(body.begin(), body.begin() + 32);
  auto fb = HandshakeState::create(kPipesXXfallback, std::move(c));
  if (!fb) return fb.error();
  hs_ = std::move(*fb);
  mode_ = PipesType::xx_fallback;
  return Bytes{};  // the IK payload was not readable
}

Result<Bytes> PipesResponder::read_message(ByteView message) {
  if (failed()) return make_error(Errc::invalid_state, "handshake failed");
  if (message.empty()) {
    failed_ = true;
    return make_error(Errc::malformed, "empty handshake message");
  }
  if (!hs_) {
    auto r = read_first(message);
    if (!r) failed_ = true;
    return r;
  }
  if (!hs_->needs_read()) return make_error(Errc::invalid_state, "not our turn to read");
  if (static_cast<PipesType>(message[0]) != mode_) {
    failed_ = true;
    return make_error(Errc::malformed, "unexpected handshake message type");
  }
  return hs_->read_message(message.subspan(1));
}

Result<Bytes> PipesResponder::write_message(ByteView payload) {
  if (failed()) return make_error(Errc::invalid_state, "handshake failed");
  if (!hs_) return make_error(Errc::invalid_state, "not our turn to write");
  if (payload.size() > kMaxPipesPayload)
    return make_error(Errc::too_large, "handshake payload too large");
  auto msg = hs_->write_message(payload);
  if (!msg) return msg.error();
  return with_type(mode_, std::move(*msg));
}

std::optional<ByteView> PipesResponder::remote_static() const {
  return hs_ ? hs_->remote_static() : std::nullopt;
}

ByteView PipesResponder::handshake_hash() const {
  return hs_ ? hs_->handshake_hash() : ByteView{};
}

Result<Transport> PipesResponder::split() const {
  if (!hs_ || failed()) return make_error(Errc::invalid_state, "handshake not complete");
  return hs_->split();
}

}  // namespace ferry::crypto::noise
