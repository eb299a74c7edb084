// HMAC-SHA256 and HKDF-SHA256 (RFC 5869) for X3DH and the Double Ratchet.
// HMAC from libsodium; HKDF is primitives/hash.h's, over OpenSSL EVP_KDF.
#pragma once

#include <cstddef>
#include <cstdint>

#include "crypto/bytes.h"
#include "crypto/secret.h"

namespace ferry::crypto {

inline constexpr size_t kSha256Len = 32;

// out[0..32) = HMAC-SHA256(key, data)
void hmac_sha256(ByteView key, ByteView data, uint8_t* out);

// out[0..out_len) = HKDF-SHA256(salt, ikm, info). An empty salt means
// HASHLEN zero bytes, as RFC 5869 says. out_len <= 255 * 32.
void hkdf_sha256(ByteView salt, ByteView ikm, ByteView info, uint8_t* out, size_t out_len);

}  // namespace ferry::crypto
