#include "crypto/primitives/aes_cbc.h"

#include <openssl/evp.h>

#include <climits>
#include <memory>

namespace ferry::crypto {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

EVP_CIPHER_CTX* thread_ctx() {
  thread_local std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

const EVP_CIPHER* aes256cbc() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return cipher;
}

constexpr size_t kBlock = 16;

}  // namespace

Result<Bytes> aes256_cbc_encrypt(ByteView key, ByteView iv, ByteView plaintext) {
  if (key.size() != 32 || iv.size() != kBlock)
    return make_error(Errc::invalid_argument, "AES-CBC key/IV length");
  if (plaintext.size() > INT_MAX - kBlock)
    return make_error(Errc::too_large, "plaintext too large");
  EVP_CIPHER_CTX* ctx = thread_ctx();
  Bytes out(plaintext.size() + kBlock);
  int len1 = 0, len2 = 0;
  bool ok = ctx && aes256cbc() &&
            EVP_EncryptInit_ex2(ctx, aes256cbc(), key.data(), iv.data(), nullptr) == 1 &&
            EVP_EncryptUpdate(ctx, out.data(), &len1, plaintext.data(),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, out.data() + len1, &len2) == 1;
  if (!ok) return make_error(Errc::internal, "AES-CBC encryption failed");
  out.resize(static_cast<size_t>(len1) + static_cast<size_t>(len2));
  return out;
}

Result<Bytes> aes256_cbc_decrypt(ByteView key, ByteView iv, ByteView ciphertext) {
  if (key.size() != 32 || iv.size() != kBlock)
    return make_error(Errc::invalid_argument, "AES-CBC key/IV length");
  if (ciphertext.empty() || ciphertext.size() % kBlock != 0 ||
      ciphertext.size() > INT_MAX - kBlock) {
    return make_error(Errc::malformed, "AES-CBC ciphertext length");
  }
  EVP_CIPHER_CTX* ctx = thread_ctx();
  Bytes out(ciphertext.size() + kBlock);
  int len1 = 0, len2 = 0;
  bool ok = ctx && aes256cbc() &&
            EVP_DecryptInit_ex2(ctx, aes256cbc(), key.data(), iv.data(), nullptr) == 1 &&
            EVP_DecryptUpdate(ctx, out.data(), &len1, ciphertext.data(),
                              static_cast<int>(ciphertext.size())) == 1 &&
            EVP_DecryptFinal_ex(ctx, out.data() + len1, &len2) == 1;
  if (!ok) return make_error(Errc::malformed, "AES-CBC padding invalid");
  out.resize(static_cast<size_t>(len1) + static_cast<size_t>(len2));
  return out;
}

}  // namespace ferry::crypto
