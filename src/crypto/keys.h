// Identity keys: one secret that both signs (Ed25519) and agrees (X25519).
//
// The identity is an Ed25519 key pair; its X25519 key pair is derived with
// libsodium's birational map (crypto_sign_ed25519_sk_to_curve25519 /
// crypto_sign_ed25519_pk_to_curve25519), so a public identity is one 32-byte
// Ed25519 key from which anyone computes the matching X25519 public key.
// docs/protocol.md, Part 3, "Identity keys", specifies the encodings.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/bytes.h"
#include "crypto/primitives/dh.h"
#include "crypto/result.h"
#include "crypto/secret.h"

namespace ferry::crypto {

inline constexpr size_t kKeyLen = 32;        // Ed25519 and X25519 public keys
inline constexpr size_t kSignatureLen = 64;  // Ed25519 signatures
inline constexpr size_t kSeedLen = 32;       // Ed25519 secret seed

using PublicKey = std::array<uint8_t, kKeyLen>;  // an X25519 public key
using Signature = std::array<uint8_t, kSignatureLen>;

// Copies exactly 32 bytes into a PublicKey; Errc::bad_key for another length.
Result<PublicKey> public_key_from(ByteView bytes);

// True if `k` is the one encoding of its X25519 value: below 2^255 - 19, so
// bit 255 is clear. X25519 ignores bit 255 and reduces mod p, so any other
// encoding gives the same shared secret: a field that is only fed to DH (and
// not MACed as bytes) must be checked with this, or it is malleable.
bool is_canonical_x25519(const PublicKey& k);

class IdentityPublicKey {
 public:
  // 32-byte Ed25519 public key. Errc::bad_key if it is not a valid point that
  // converts to X25519 (small-order and non-canonical keys are refused).
  static Result<IdentityPublicKey> from_bytes(ByteView ed25519_public);

  ByteView bytes() const { return {ed_.data(), ed_.size()}; }
  const std::array<uint8_t, kKeyLen>& ed25519() const { return ed_; }
  const PublicKey& x25519() const { return x_; }
  // Errc::auth_failed unless `signature` is a valid Ed25519 signature.
  Result<void> verify(ByteView message, ByteView signature) const;

  bool operator==(const IdentityPublicKey& o) const { return ed_ == o.ed_; }

 private:
  IdentityPublicKey() = default;
  std::array<uint8_t, kKeyLen> ed_{};
  PublicKey x_{};
};

class IdentityKeyPair {
 public:
  static IdentityKeyPair generate();
  // From the 32-byte Ed25519 seed.
  static Result<IdentityKeyPair> from_seed(ByteView seed);
  // Storage format: 0x01 || seed (33 bytes). Secret: keep it in SecretBytes.
  SecretBytes serialize() const;
  static Result<IdentityKeyPair> deserialize(ByteView bytes);

  const IdentityPublicKey& public_key() const { return public_; }
  Signature sign(ByteView message) const;
  // The X25519 key pair used in X3DH, derived from the Ed25519 secret.
  const DhKeyPair& agreement() const { return agreement_; }

 private:
  IdentityKeyPair(ByteView seed, IdentityPublicKey pub);
  SecretArray<kSeedLen> seed_;
  SecretArray<64> signing_key_;  // libsodium's seed || public key form
  IdentityPublicKey public_;
  DhKeyPair agreement_;
};

// A safety number: 60 decimal digits that two people compare to check that
// each holds the other's real identity key. Symmetric: safety_number(a, b) ==
// safety_number(b, a). The algorithm is in docs/protocol.md.
std::string safety_number(const IdentityPublicKey& ours, const IdentityPublicKey& theirs);
// "12345 67890 ..." (12 groups of 5) for display.
std::string format_safety_number(std::string_view digits);

}  // namespace ferry::crypto
