#include "crypto/kdf.h"

#include <sodium.h>

#include "crypto/primitives/hash.h"
#include "crypto/random.h"

namespace ferry::crypto {

void hmac_sha256(ByteView key, ByteView data, uint8_t* out) {
  ensure_initialized();
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  crypto_auth_hmacsha256_update(&st, data.data(), data.size());
  crypto_auth_hmacsha256_final(&st, out);
  sodium_memzero(&st, sizeof st);
}

void hkdf_sha256(ByteView salt, ByteView ikm, ByteView info, uint8_t* out, size_t out_len) {
  static const uint8_t kZeroSalt[kSha256Len] = {};
  if (salt.empty()) salt = ByteView(kZeroSalt, sizeof kZeroSalt);
  hkdf(HashKind::sha256, salt, ikm, info, out, out_len);
}

}  // namespace ferry::crypto
