// The two Noise cipher functions: ChaChaPoly (RFC 8439, libsodium, nonce =
// 4 zero bytes || little-endian n) and AESGCM (AES-256-GCM, OpenSSL, nonce =
// 4 zero bytes || big-endian n). Both append a 16-byte tag.
#pragma once

#include <cstdint>

#include "crypto/bytes.h"
#include "crypto/result.h"

namespace ferry::crypto {

enum class CipherKind : uint8_t { chachapoly, aesgcm };

inline constexpr size_t kAeadKeyLen = 32;
inline constexpr size_t kAeadTagLen = 16;

// Appends ciphertext||tag to `out`. `key` must be 32 bytes.
Result<void> aead_encrypt(CipherKind kind, ByteView key, uint64_t nonce, ByteView ad,
                          ByteView plaintext, Bytes& out);
// Appends the plaintext to `out`; Errc::auth_failed if the tag does not verify
// (nothing is appended then).
Result<void> aead_decrypt(CipherKind kind, ByteView key, uint64_t nonce, ByteView ad,
                          ByteView ciphertext, Bytes& out);

}  // namespace ferry::crypto
