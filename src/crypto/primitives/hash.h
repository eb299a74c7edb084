// The four Noise hash functions and the HMAC/HKDF built on them (Noise rev 34
// section 4.3): SHA256 and SHA512 (libsodium), BLAKE2b-512 (libsodium
// generichash) and BLAKE2s-256 (OpenSSL). HMAC and HKDF come from OpenSSL's
// EVP_MAC / EVP_KDF with the matching digest, so nothing here is hand-rolled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "crypto/bytes.h"
#include "crypto/secret.h"

namespace ferry::crypto {

enum class HashKind : uint8_t { sha256, sha512, blake2b, blake2s };

inline constexpr size_t kMaxHashLen = 64;

size_t hash_len(HashKind kind);   // HASHLEN
size_t block_len(HashKind kind);  // BLOCKLEN

// HASH(parts[0] || parts[1] || ...) into out[0 .. hash_len).
void hash_parts(HashKind kind, std::initializer_list<ByteView> parts, uint8_t* out);

// RFC 5869 HKDF (extract and expand) with the given digest; out_len at most
// 255 * hash_len. An empty salt is passed to OpenSSL as empty.
void hkdf(HashKind kind, ByteView salt, ByteView ikm, ByteView info, uint8_t* out, size_t out_len);

// Noise HKDF(chaining_key, input_key_material, num_outputs) with empty info:
// writes num_outputs (2 or 3) outputs of hash_len bytes each into `out`.
void noise_hkdf(HashKind kind, ByteView chaining_key, ByteView ikm, size_t num_outputs,
                uint8_t* out);

}  // namespace ferry::crypto
