#include "crypto/primitives/hash.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include <cstdlib>
#include <memory>

#include "crypto/random.h"

namespace ferry::crypto {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

const EVP_MD* blake2s_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "BLAKE2S-256", nullptr);
  return md;
}

const char* digest_name(HashKind kind) {
  switch (kind) {
    case HashKind::sha256:
      return "SHA256";
    case HashKind::sha512:
      return "SHA512";
    case HashKind::blake2b:
      return "BLAKE2B-512";
    case HashKind::blake2s:
      return "BLAKE2S-256";
  }
  return "SHA256";
}

EVP_KDF* hkdf_kdf() {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

// OpenSSL treats a NULL octet-string parameter as absent, so empty inputs
// must still point somewhere.
void* nonnull(ByteView v) {
  static uint8_t empty = 0;
  return v.empty() ? &empty : const_cast<uint8_t*>(v.data());
}

void blake2s(std::initializer_list<ByteView> parts, uint8_t* out) {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned int len = 0;
  bool ok = ctx && blake2s_md() && EVP_DigestInit_ex2(ctx.get(), blake2s_md(), nullptr) == 1;
  for (ByteView p : parts) ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx.get(), out, &len) == 1 && len == 32;
  if (!ok) std::abort();  // a missing digest is a broken installation, not bad input
}

}  // namespace

size_t hash_len(HashKind kind) {
  return kind == HashKind::sha256 || kind == HashKind::blake2s ? 32 : 64;
}

size_t block_len(HashKind kind) {
  return kind == HashKind::sha256 || kind == HashKind::blake2s ? 64 : 128;
}

void hash_parts(HashKind kind, std::initializer_list<ByteView> parts, uint8_t* out) {
  ensure_initialized();
  switch (kind) {
    case HashKind::sha256: {
      crypto_hash_sha256_state st;
      crypto_hash_sha256_init(&st);
      for (ByteView p : parts) crypto_hash_sha256_update(&st, p.data(), p.size());
      crypto_hash_sha256_final(&st, out);
      sodium_memzero(&st, sizeof st);
      return;
    }
    case HashKind::sha512: {
      crypto_hash_sha512_state st;
      crypto_hash_sha512_init(&st);
      for (ByteView p : parts) crypto_hash_sha512_update(&st, p.data(), p.size());
      crypto_hash_sha512_final(&st, out);
      sodium_memzero(&st, sizeof st);
      return;
    }
    case HashKind::blake2b: {
      crypto_generichash_state st;
      crypto_generichash_init(&st, nullptr, 0, 64);
      for (ByteView p : parts) crypto_generichash_update(&st, p.data(), p.size());
      crypto_generichash_final(&st, out, 64);
      sodium_memzero(&st, sizeof st);
      return;
    }
    case HashKind::blake2s:
      blake2s(parts, out);
      return;
  }
}

void hkdf(HashKind kind, ByteView salt, ByteView ikm, ByteView info, uint8_t* out, size_t out_len) {
  EVP_KDF_CTX* ctx = hkdf_kdf() ? EVP_KDF_CTX_new(hkdf_kdf()) : nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest_name(kind)),
                                       0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, nonnull(salt), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, nonnull(ikm), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, nonnull(info), info.size()),
      OSSL_PARAM_construct_end(),
  };
  bool ok =
      ctx && out_len <= 255 * hash_len(kind) && EVP_KDF_derive(ctx, out, out_len, params) == 1;
  EVP_KDF_CTX_free(ctx);
  if (!ok) std::abort();  // only fails if OpenSSL lacks HKDF or the digest
}

void noise_hkdf(HashKind kind, ByteView chaining_key, ByteView ikm, size_t num_outputs,
                uint8_t* out) {
  // Noise's HKDF is RFC 5869 HKDF with empty info: output i is T(i).
  hkdf(kind, chaining_key, ikm, {}, out, num_outputs * hash_len(kind));
}

}  // namespace ferry::crypto
