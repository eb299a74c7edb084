#include "crypto/ratchet_message.h"

#include "crypto/ratchet.h"

namespace ferry::crypto {
namespace ratchet_wire {
namespace {
constexpr uint8_t kFlagOneTime = 0x01;
}

Bytes encode_normal_body(const PublicKey& ratchet_key, uint32_t pn, uint32_t n,
                         ByteView ciphertext) {
  Bytes out;
  out.reserve(kHeaderLen + ciphertext.size() + kMacLen);
  ByteWriter w(out);
  w.u8(kRatchetVersion);
  w.u8(static_cast<uint8_t>(RatchetMessageType::normal));
  w.bytes(ratchet_key);
  w.u32(pn);
  w.u32(n);
  w.bytes(ciphertext);
  return out;
}

Result<NormalMessage> decode_normal(ByteView message) {
  if (message.size() < kMinNormalLen)
    return make_error(Errc::malformed, "ratchet message too short");
  if (message[0] != kRatchetVersion)
    return make_error(Errc::unsupported, "ratchet message version");
  if (message[1] != static_cast<uint8_t>(RatchetMessageType::normal)) {
    return make_error(Errc::malformed, "not a normal ratchet message");
  }
  NormalMessage m;
  ByteReader r(message.subspan(2));
  ByteView key;
  r.take(kKeyLen, key);
  std::copy(key.begin(), key.end(), m.ratchet_key.begin());
  r.u32(m.previous_chain_length);
  r.u32(m.n);
  size_t ct_len = message.size() - kHeaderLen - kMacLen;
  if (ct_len % kBlockLen != 0)
    return make_error(Errc::malformed, "ratchet ciphertext not whole blocks");
  m.ciphertext = message.subspan(kHeaderLen, ct_len);
  m.mac = message.subspan(message.size() - kMacLen);
  m.authenticated = message.first(message.size() - kMacLen);
  return m;
}

Bytes encode_prekey(ByteView sender_identity, const PublicKey& base_key, uint32_t signed_prekey_id,
                    std::optional<uint32_t> one_time_prekey_id, ByteView inner) {
  Bytes out;
  ByteWriter w(out);
  w.u8(kRatchetVersion);
  w.u8(static_cast<uint8_t>(RatchetMessageType::prekey));
  w.u8(one_time_prekey_id ? kFlagOneTime : 0);
  w.bytes(sender_identity);
  w.bytes(base_key);
  w.u32(signed_prekey_id);
  if (one_time_prekey_id) w.u32(*one_time_prekey_id);
  w.bytes(inner);
  return out;
}

Result<PrekeyWrapper> decode_prekey(ByteView message) {
  ByteReader r(message);
  uint8_t version = 0, type = 0, flags = 0;
  if (!r.u8(version) || !r.u8(type) || !r.u8(flags))
    return make_error(Errc::malformed, "prekey message too short");
  if (version != kRatchetVersion) return make_error(Errc::unsupported, "ratchet message version");
  if (type != static_cast<uint8_t>(RatchetMessageType::prekey)) {
    return make_error(Errc::malformed, "not a prekey message");
  }
  if ((flags & ~kFlagOneTime) != 0)
    return make_error(Errc::malformed, "prekey message: unknown flags");
  PrekeyWrapper p;
  ByteView base;
  if (!r.take(kKeyLen, p.sender_identity) || !r.take(kKeyLen, base) || !r.u32(p.signed_prekey_id)) {
    return make_error(Errc::malformed, "prekey message too short");
  }
  std::copy(base.begin(), base.end(), p.base_key.begin());
  // EK_A is only fed to X25519, which would take another encoding of the same
  // value just as well: refuse all but the canonical one, so a changed bit is
  // never accepted (docs/protocol.md, "Prekey message").
  if (!is_canonical_x25519(p.base_key))
    return make_error(Errc::malformed, "prekey message: base key not canonical");
  if (flags & kFlagOneTime) {
    uint32_t id = 0;
    if (!r.u32(id)) return make_error(Errc::malformed, "prekey message too short");
    p.one_time_prekey_id = id;
  }
  p.inner = r.rest();
  auto inner = decode_normal(p.inner);
  if (!inner) return inner.error();
  return p;
}

}  // namespace ratchet_wire

Result<RatchetMessageType> peek_message_type(ByteView message) {
  if (message.size() < 2) return make_error(Errc::malformed, "ratchet message too short");
  if (message[0] != kRatchetVersion)
    return make_error(Errc::unsupported, "ratchet message version");
  if (message[1] == static_cast<uint8_t>(RatchetMessageType::normal))
    return RatchetMessageType::normal;
  if (message[1] == static_cast<uint8_t>(RatchetMessageType::prekey))
    return RatchetMessageType::prekey;
  return make_error(Errc::malformed, "unknown ratchet message type");
}

Result<PrekeyMessageInfo> parse_prekey_message(ByteView message) {
  auto p = ratchet_wire::decode_prekey(message);
  if (!p) return p.error();
  auto identity = IdentityPublicKey::from_bytes(p->sender_identity);
  if (!identity) return identity.error();
  return PrekeyMessageInfo{*identity, p->base_key, p->signed_prekey_id, p->one_time_prekey_id};
}

}  // namespace ferry::crypto
