// Prekeys for X3DH: a signed prekey (X25519, signed by the identity key) and
// one-time prekeys, their private halves for the owner's store, and the
// bundle the server hands to someone who wants to start a session.
// docs/protocol.md, Part 3, "Prekey bundle", specifies every byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "crypto/bytes.h"
#include "crypto/keys.h"
#include "crypto/primitives/dh.h"
#include "crypto/result.h"
#include "crypto/secret.h"

namespace ferry::crypto {

inline constexpr uint8_t kPrekeyBundleVersion = 1;

struct SignedPrekey {
  uint32_t id = 0;
  PublicKey public_key{};
  Signature signature{};
};

struct OneTimePrekey {
  uint32_t id = 0;
  PublicKey public_key{};
};

// The bytes the identity key signs for a signed prekey:
// "FerrySignedPrekey" || 0x01 || id (u32 BE) || public key (32).
Bytes signed_prekey_message(uint32_t id, const PublicKey& public_key);
Result<void> verify_signed_prekey(const IdentityPublicKey& identity, const SignedPrekey& spk);

// Private halves, kept by their owner.
struct SignedPrekeyPair {
  uint32_t id = 0;
  DhKeyPair key;
  Signature signature{};

  SignedPrekey public_part() const;
  // 0x01 || id || private(32) || signature(64); the public key is recomputed.
  SecretBytes serialize() const;
  static Result<SignedPrekeyPair> deserialize(ByteView bytes);
};

struct OneTimePrekeyPair {
  uint32_t id = 0;
  DhKeyPair key;

  OneTimePrekey public_part() const;
  SecretBytes serialize() const;  // 0x01 || id || private(32)
  static Result<OneTimePrekeyPair> deserialize(ByteView bytes);
};

SignedPrekeyPair generate_signed_prekey(const IdentityKeyPair& identity, uint32_t id);
// `count` one-time prekeys with ids first_id, first_id + 1, ... (mod 2^32).
std::vector<OneTimePrekeyPair> generate_one_time_prekeys(uint32_t first_id, size_t count);

struct PrekeyBundle {
  IdentityPublicKey identity;
  SignedPrekey signed_prekey;
  std::optional<OneTimePrekey> one_time_prekey;

  Bytes encode() const;
  // Strict: exact length, known version and flags, valid identity key.
  // Does not check the signature: verify() does (X3DH always calls it).
  static Result<PrekeyBundle> decode(ByteView bytes);
  Result<void> verify() const;
};

}  // namespace ferry::crypto
