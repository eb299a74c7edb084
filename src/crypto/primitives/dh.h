// Diffie-Hellman over Curve25519 (libsodium) and Curve448 (OpenSSL), as the
// Noise spec's "25519" and "448" DH functions. Public keys are the RFC 7748
// little-endian u-coordinate: 32 bytes for X25519, 56 for X448.
//
// An all-zero shared secret (a low-order or otherwise invalid public key) is
// reported as Errc::bad_key; Noise rev 34 section 12.1 allows this.
#pragma once

#include <cstddef>
#include <cstdint>

#include "crypto/bytes.h"
#include "crypto/result.h"
#include "crypto/secret.h"

namespace ferry::crypto {

enum class DhKind : uint8_t { x25519, x448 };

// DHLEN: the length of public keys, private keys and shared secrets.
size_t dh_len(DhKind kind);

struct DhKeyPair {
  DhKind kind = DhKind::x25519;
  SecretBytes private_key;
  Bytes public_key;
};

DhKeyPair dh_generate(DhKind kind);
// Derives the public key; Errc::invalid_argument if the length is wrong.
Result<DhKeyPair> dh_keypair_from_private(DhKind kind, ByteView private_key);
// DH(local, remote_public). Errc::bad_key for a wrong length or all-zero output.
Result<SecretBytes> dh(const DhKeyPair& local, ByteView remote_public);

}  // namespace ferry::crypto
