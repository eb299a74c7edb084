#include "crypto/primitives/aead.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <climits>
#include <memory>

#include "crypto/random.h"
#include "crypto/secret.h"

namespace ferry::crypto {
namespace {

using Nonce = std::array<uint8_t, 12>;

Nonce chacha_nonce(uint64_t n) {
  Nonce nonce{};
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(n >> (8 * i));
  return nonce;
}

Nonce gcm_nonce(uint64_t n) {
  Nonce nonce{};
  for (int i = 0; i < 8; ++i) nonce[11 - i] = static_cast<uint8_t>(n >> (8 * i));
  return nonce;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// One context per thread, reset for every call: EVP_CIPHER_CTX_new per
// message would dominate the cost of small messages.
EVP_CIPHER_CTX* thread_ctx() {
  thread_local CipherCtx ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

const EVP_CIPHER* aes256gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

bool fits_int(size_t n) {
  return n <= static_cast<size_t>(INT_MAX);
}

Result<void> gcm_encrypt(ByteView key, uint64_t n, ByteView ad, ByteView pt, Bytes& out) {
  if (!fits_int(pt.size()) || !fits_int(ad.size()))
    return make_error(Errc::too_large, "AEAD input too large");
  EVP_CIPHER_CTX* ctx = thread_ctx();
  Nonce nonce = gcm_nonce(n);
  size_t base = out.size();
  out.resize(base + pt.size() + kAeadTagLen);
  int len = 0;
  bool ok = ctx && aes256gcm() &&
            EVP_EncryptInit_ex2(ctx, aes256gcm(), key.data(), nonce.data(), nullptr) == 1 &&
            (ad.empty() ||
             EVP_EncryptUpdate(ctx, nullptr, &len, ad.data(), static_cast<int>(ad.size())) == 1) &&
            (pt.empty() || EVP_EncryptUpdate(ctx, out.data() + base, &len, pt.data(),
                                             static_cast<int>(pt.size())) == 1) &&
            EVP_EncryptFinal_ex(ctx, out.data() + base + pt.size(), &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kAeadTagLen,
                                out.data() + base + pt.size()) == 1;
  if (!ok) {
    out.resize(base);
    return make_error(Errc::internal, "AES-GCM encryption failed");
  }
  return {};
}

Result<void> gcm_decrypt(ByteView key, uint64_t n, ByteView ad, ByteView ct, Bytes& out) {
  if (!fits_int(ct.size()) || !fits_int(ad.size()))
    return make_error(Errc::too_large, "AEAD input too large");
  size_t pt_len = ct.size() - kAeadTagLen;
  EVP_CIPHER_CTX* ctx = thread_ctx();
  Nonce nonce = gcm_nonce(n);
  std::array<uint8_t, kAeadTagLen> tag{};
  std::copy(ct.end() - kAeadTagLen, ct.end(), tag.begin());
  size_t base = out.size();
  out.resize(base + pt_len);
  int len = 0;
  bool ok = ctx && aes256gcm() &&
            EVP_DecryptInit_ex2(ctx, aes256gcm(), key.data(), nonce.data(), nullptr) == 1 &&
            (ad.empty() ||
             EVP_DecryptUpdate(ctx, nullptr, &len, ad.data(), static_cast<int>(ad.size())) == 1) &&
            (pt_len == 0 || EVP_DecryptUpdate(ctx, out.data() + base, &len, ct.data(),
                                              static_cast<int>(pt_len)) == 1) &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kAeadTagLen, tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx, out.data() + base + pt_len, &len) == 1;
  if (!ok) {
    wipe(out.data() + base, pt_len);
    out.resize(base);
    return make_error(Errc::auth_failed, "AES-GCM tag mismatch");
  }
  return {};
}

}  // namespace

Result<void> aead_encrypt(CipherKind kind, ByteView key, uint64_t nonce, ByteView ad,
                          ByteView plaintext, Bytes& out) {
  if (key.size() != kAeadKeyLen)
    return make_error(Errc::invalid_argument, "AEAD key must be 32 bytes");
  if (kind == CipherKind::aesgcm) return gcm_encrypt(key, nonce, ad, plaintext, out);
  ensure_initialized();
  Nonce n = chacha_nonce(nonce);
  size_t base = out.size();
  out.resize(base + plaintext.size() + kAeadTagLen);
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + base, &len, plaintext.data(),
                                            plaintext.size(), ad.data(), ad.size(), nullptr,
                                            n.data(), key.data());
  return {};
}

Result<void> aead_decrypt(CipherKind kind, ByteView key, uint64_t nonce, ByteView ad,
                          ByteView ciphertext, Bytes& out) {
  if (key.size() != kAeadKeyLen)
    return make_error(Errc::invalid_argument, "AEAD key must be 32 bytes");
  if (ciphertext.size() < kAeadTagLen)
    return make_error(Errc::auth_failed, "ciphertext shorter than its tag");
  if (kind == CipherKind::aesgcm) return gcm_decrypt(key, nonce, ad, ciphertext, out);
  ensure_initialized();
  Nonce n = chacha_nonce(nonce);
  size_t base = out.size();
  out.resize(base + ciphertext.size() - kAeadTagLen);
  unsigned long long len = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data() + base, &len, nullptr, ciphertext.data(),
                                                ciphertext.size(), ad.data(), ad.size(), n.data(),
                                                key.data()) != 0) {
    out.resize(base);
    return make_error(Errc::auth_failed, "ChaChaPoly tag mismatch");
  }
  return {};
}

}  // namespace ferry::crypto
