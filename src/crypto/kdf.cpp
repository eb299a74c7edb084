#include "crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include <cstdlib>

#include "crypto/random.h"

namespace ferry::crypto {
namespace {

EVP_KDF* hkdf_kdf() {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

void* nonnull(ByteView v) {
  static uint8_t empty = 0;
  return v.empty() ? &empty : const_cast<uint8_t*>(v.data());
}

}  // namespace

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
  EVP_KDF_CTX* ctx = hkdf_kdf() ? EVP_KDF_CTX_new(hkdf_kdf()) : nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, nonnull(salt), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, nonnull(ikm), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, nonnull(info), info.size()),
      OSSL_PARAM_construct_end(),
  };
  bool ok = ctx && out_len <= 255 * kSha256Len && EVP_KDF_derive(ctx, out, out_len, params) == 1;
  EVP_KDF_CTX_free(ctx);
  if (!ok) std::abort();  // only fails if OpenSSL lacks HKDF-SHA256
}

}  // namespace ferry::crypto
