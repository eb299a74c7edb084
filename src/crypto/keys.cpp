#include "crypto/keys.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdlib>

#include "crypto/random.h"

namespace ferry::crypto {
namespace {

constexpr uint8_t kIdentityFormat = 1;
constexpr size_t kFingerprintIterations = 5200;
constexpr std::string_view kFingerprintLabel = "ferry-safety-number";

// 30 digits for one identity: docs/protocol.md, "Safety numbers".
std::string fingerprint_digits(const IdentityPublicKey& key) {
  std::array<uint8_t, crypto_hash_sha512_BYTES> d{};
  const uint8_t version[2] = {0x00, 0x01};
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, version, sizeof version);
  crypto_hash_sha512_update(&st, reinterpret_cast<const uint8_t*>(kFingerprintLabel.data()),
                            kFingerprintLabel.size());
  crypto_hash_sha512_update(&st, key.bytes().data(), key.bytes().size());
  crypto_hash_sha512_final(&st, d.data());
  for (size_t i = 0; i < kFingerprintIterations; ++i) {
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, d.data(), d.size());
    crypto_hash_sha512_update(&st, key.bytes().data(), key.bytes().size());
    crypto_hash_sha512_final(&st, d.data());
  }
  std::string out;
  for (size_t chunk = 0; chunk < 6; ++chunk) {
    uint64_t v = 0;
    for (size_t i = 0; i < 5; ++i) v = v << 8 | d[chunk * 5 + i];
    std::string digits = std::to_string(v % 100000);
    out += std::string(5 - digits.size(), '0') + digits;
  }
  return out;
}

}  // namespace

Result<PublicKey> public_key_from(ByteView bytes) {
  if (bytes.size() != kKeyLen) return make_error(Errc::bad_key, "public key must be 32 bytes");
  PublicKey k;
  std::copy(bytes.begin(), bytes.end(), k.begin());
  return k;
}

bool is_canonical_x25519(const PublicKey& k) {
  // Little endian; p = 2^255 - 19 is 0xed, thirty 0xff, 0x7f.
  if (k[31] > 0x7f) return false;
  if (k[31] < 0x7f) return true;
  for (size_t i = 30; i >= 1; --i) {
    if (k[i] != 0xff) return true;
  }
  return k[0] < 0xed;
}

Result<IdentityPublicKey> IdentityPublicKey::from_bytes(ByteView ed25519_public) {
  ensure_initialized();
  if (ed25519_public.size() != kKeyLen)
    return make_error(Errc::bad_key, "identity key must be 32 bytes");
  // Canonical, on the curve, in the prime-order subgroup, not small order.
  if (crypto_core_ed25519_is_valid_point(ed25519_public.data()) != 1) {
    return make_error(Errc::bad_key, "identity key is not a valid Ed25519 point");
  }
  IdentityPublicKey k;
  std::copy(ed25519_public.begin(), ed25519_public.end(), k.ed_.begin());
  if (crypto_sign_ed25519_pk_to_curve25519(k.x_.data(), k.ed_.data()) != 0) {
    return make_error(Errc::bad_key, "identity key does not convert to X25519");
  }
  return k;
}

Result<void> IdentityPublicKey::verify(ByteView message, ByteView signature) const {
  if (signature.size() != kSignatureLen)
    return make_error(Errc::auth_failed, "signature must be 64 bytes");
  if (crypto_sign_verify_detached(signature.data(), message.data(), message.size(), ed_.data()) !=
      0) {
    return make_error(Errc::auth_failed, "signature does not verify");
  }
  return {};
}

IdentityKeyPair::IdentityKeyPair(ByteView seed, IdentityPublicKey pub)
    : seed_(seed), public_(pub) {}

Result<IdentityKeyPair> IdentityKeyPair::from_seed(ByteView seed) {
  ensure_initialized();
  if (seed.size() != kSeedLen)
    return make_error(Errc::invalid_argument, "identity seed must be 32 bytes");
  std::array<uint8_t, kKeyLen> pk{};
  SecretArray<crypto_sign_SECRETKEYBYTES> sk;
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  auto pub = IdentityPublicKey::from_bytes(pk);
  if (!pub) return pub.error();  // cannot happen for keys libsodium made
  IdentityKeyPair kp(seed, *pub);
  kp.signing_key_ = sk;
  Key32 x_private;
  crypto_sign_ed25519_sk_to_curve25519(x_private.data(), sk.data());
  auto agreement = dh_keypair_from_private(DhKind::x25519, x_private.view());
  if (!agreement) return agreement.error();
  kp.agreement_ = std::move(*agreement);
  return kp;
}

IdentityKeyPair IdentityKeyPair::generate() {
  Key32 seed;
  random_bytes(seed.data(), seed.size());
  auto kp = from_seed(seed.view());
  if (!kp) std::abort();  // every 32-byte seed is valid
  return std::move(kp).value();
}

SecretBytes IdentityKeyPair::serialize() const {
  SecretBytes out;
  out.reserve(1 + kSeedLen);
  out.push_back(kIdentityFormat);
  out.insert(out.end(), seed_.data(), seed_.data() + kSeedLen);
  return out;
}

Result<IdentityKeyPair> IdentityKeyPair::deserialize(ByteView bytes) {
  if (bytes.size() != 1 + kSeedLen)
    return make_error(Errc::malformed, "identity key pair: wrong length");
  if (bytes[0] != kIdentityFormat)
    return make_error(Errc::unsupported, "identity key pair: unknown format");
  return from_seed(bytes.subspan(1));
}

Signature IdentityKeyPair::sign(ByteView message) const {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), signing_key_.data());
  return sig;
}

std::string safety_number(const IdentityPublicKey& ours, const IdentityPublicKey& theirs) {
  ensure_initialized();
  std::string a = fingerprint_digits(ours);
  std::string b = fingerprint_digits(theirs);
  return a <= b ? a + b : b + a;
}

std::string format_safety_number(std::string_view digits) {
  std::string out;
  for (size_t i = 0; i < digits.size(); i += 5) {
    if (!out.empty()) out.push_back(' ');
    out += digits.substr(i, 5);
  }
  return out;
}

}  // namespace ferry::crypto
