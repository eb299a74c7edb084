// X3DH key agreement (Signal's specification, revision 1) on X25519 and
// SHA-256:
//   DH1 = DH(IK_A, SPK_B)  DH2 = DH(EK_A, IK_B)  DH3 = DH(EK_A, SPK_B)
//   DH4 = DH(EK_A, OPK_B)  (only with a one-time prekey)
//   SK  = HKDF-SHA256(salt = 32 zero bytes,
//                     ikm  = 0xFF x 32 || DH1 || DH2 || DH3 [|| DH4],
//                     info = "Ferry_X3DH_25519_SHA256", 32 bytes)
//   AD  = IK_A || IK_B  (the two 32-byte Ed25519 identity public keys)
// IK_* are the X25519 forms of the identity keys (keys.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "crypto/bytes.h"
#include "crypto/keys.h"
#include "crypto/prekeys.h"
#include "crypto/result.h"
#include "crypto/secret.h"

namespace ferry::crypto {

inline constexpr std::string_view kX3dhInfo = "Ferry_X3DH_25519_SHA256";
inline constexpr size_t kAssociatedDataLen = 2 * kKeyLen;

struct X3dhInitiation {
  Key32 shared_key;
  Bytes associated_data;  // IK_A || IK_B
  PublicKey ephemeral_public{};
  uint32_t signed_prekey_id = 0;
  std::optional<uint32_t> one_time_prekey_id;
  PublicKey remote_signed_prekey{};  // the responder's first ratchet public key
};

// The sender's side, from the bundle alone. Verifies the signed prekey's
// signature first (Errc::auth_failed).
Result<X3dhInitiation> x3dh_initiate(const IdentityKeyPair& ours, const PrekeyBundle& theirs);
// The same with a chosen ephemeral key pair (tests only).
Result<X3dhInitiation> x3dh_initiate(const IdentityKeyPair& ours, const PrekeyBundle& theirs,
                                     const DhKeyPair& ephemeral);

struct X3dhResponse {
  Key32 shared_key;
  Bytes associated_data;  // IK_A || IK_B
};

// The receiver's side, from the first message's header. `one_time_prekey`
// is the private half the message names, or nullptr if it names none.
Result<X3dhResponse> x3dh_respond(const IdentityKeyPair& ours,
                                  const SignedPrekeyPair& signed_prekey,
                                  const OneTimePrekeyPair* one_time_prekey,
                                  const IdentityPublicKey& their_identity,
                                  ByteView their_ephemeral);

}  // namespace ferry::crypto
