#include "crypto/prekeys.h"

#include <algorithm>

namespace ferry::crypto {
namespace {

constexpr std::string_view kSignedPrekeyLabel = "FerrySignedPrekey";
constexpr uint8_t kPrivateFormat = 1;
constexpr uint8_t kFlagOneTime = 0x01;

Result<DhKeyPair> x25519_from(ByteView priv) {
  return dh_keypair_from_private(DhKind::x25519, priv);
}

PublicKey to_public(const Bytes& b) {
  PublicKey k{};
  std::copy_n(b.begin(), std::min(b.size(), k.size()), k.begin());
  return k;
}

// The private record of either prekey: format, id, X25519 private key, then
// `tail` (a signed prekey's signature; nothing for a one-time prekey).
SecretBytes private_record(uint32_t id, const DhKeyPair& key, ByteView tail) {
  Bytes head;
  ByteWriter w(head);
  w.u8(kPrivateFormat);
  w.u32(id);
  SecretBytes out(head.begin(), head.end());
  out.insert(out.end(), key.private_key.begin(), key.private_key.end());
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

// Reads what private_record wrote; `tail` receives exactly tail_len bytes.
Result<DhKeyPair> read_private_record(ByteView bytes, std::string_view what, uint32_t& id,
                                      uint8_t* tail, size_t tail_len) {
  ByteReader r(bytes);
  uint8_t format = 0;
  ByteView priv;
  if (!r.u8(format) || !r.u32(id) || !r.take(kKeyLen, priv) || !r.copy_to(tail, tail_len) ||
      !r.done()) {
    return make_error(Errc::malformed, std::string(what) + ": wrong length");
  }
  if (format != kPrivateFormat)
    return make_error(Errc::unsupported, std::string(what) + ": unknown format");
  return x25519_from(priv);
}

}  // namespace

Bytes signed_prekey_message(uint32_t id, const PublicKey& public_key) {
  Bytes out;
  ByteWriter w(out);
  w.bytes(as_bytes(kSignedPrekeyLabel));
  w.u8(0x01);
  w.u32(id);
  w.bytes(public_key);
  return out;
}

Result<void> verify_signed_prekey(const IdentityPublicKey& identity, const SignedPrekey& spk) {
  return identity.verify(signed_prekey_message(spk.id, spk.public_key), spk.signature);
}

SignedPrekey SignedPrekeyPair::public_part() const {
  return SignedPrekey{id, to_public(key.public_key), signature};
}

SecretBytes SignedPrekeyPair::serialize() const {
  return private_record(id, key, signature);
}

Result<SignedPrekeyPair> SignedPrekeyPair::deserialize(ByteView bytes) {
  SignedPrekeyPair out;
  auto kp =
      read_private_record(bytes, "signed prekey", out.id, out.signature.data(), kSignatureLen);
  if (!kp) return kp.error();
  out.key = std::move(*kp);
  return out;
}

OneTimePrekey OneTimePrekeyPair::public_part() const {
  return OneTimePrekey{id, to_public(key.public_key)};
}

SecretBytes OneTimePrekeyPair::serialize() const {
  return private_record(id, key, {});
}

Result<OneTimePrekeyPair> OneTimePrekeyPair::deserialize(ByteView bytes) {
  OneTimePrekeyPair out;
  auto kp = read_private_record(bytes, "one-time prekey", out.id, nullptr, 0);
  if (!kp) return kp.error();
  out.key = std::move(*kp);
  return out;
}

SignedPrekeyPair generate_signed_prekey(const IdentityKeyPair& identity, uint32_t id) {
  SignedPrekeyPair out;
  out.id = id;
  out.key = dh_generate(DhKind::x25519);
  out.signature = identity.sign(signed_prekey_message(id, to_public(out.key.public_key)));
  return out;
}

std::vector<OneTimePrekeyPair> generate_one_time_prekeys(uint32_t first_id, size_t count) {
  std::vector<OneTimePrekeyPair> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    out.push_back({static_cast<uint32_t>(first_id + i), dh_generate(DhKind::x25519)});
  }
  return out;
}

Bytes PrekeyBundle::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.u8(kPrekeyBundleVersion);
  w.u8(one_time_prekey ? kFlagOneTime : 0);
  w.bytes(identity.bytes());
  w.u32(signed_prekey.id);
  w.bytes(signed_prekey.public_key);
  w.bytes(signed_prekey.signature);
  if (one_time_prekey) {
    w.u32(one_time_prekey->id);
    w.bytes(one_time_prekey->public_key);
  }
  return out;
}

Result<PrekeyBundle> PrekeyBundle::decode(ByteView bytes) {
  ByteReader r(bytes);
  uint8_t version = 0, flags = 0;
  ByteView identity;
  SignedPrekey spk;
  if (!r.u8(version) || !r.u8(flags))
    return make_error(Errc::malformed, "prekey bundle: too short");
  if (version != kPrekeyBundleVersion)
    return make_error(Errc::unsupported, "prekey bundle: unknown version");
  if ((flags & ~kFlagOneTime) != 0)
    return make_error(Errc::malformed, "prekey bundle: unknown flags");
  if (!r.take(kKeyLen, identity) || !r.u32(spk.id) || !r.copy_to(spk.public_key.data(), kKeyLen) ||
      !r.copy_to(spk.signature.data(), kSignatureLen)) {
    return make_error(Errc::malformed, "prekey bundle: too short");
  }
  std::optional<OneTimePrekey> opk;
  if (flags & kFlagOneTime) {
    OneTimePrekey k;
    if (!r.u32(k.id) || !r.copy_to(k.public_key.data(), kKeyLen)) {
      return make_error(Errc::malformed, "prekey bundle: too short");
    }
    opk = k;
  }
  if (!r.done()) return make_error(Errc::malformed, "prekey bundle: trailing bytes");
  auto ik = IdentityPublicKey::from_bytes(identity);
  if (!ik) return ik.error();
  return PrekeyBundle{*ik, spk, opk};
}

Result<void> PrekeyBundle::verify() const {
  return verify_signed_prekey(identity, signed_prekey);
}

}  // namespace ferry::crypto
