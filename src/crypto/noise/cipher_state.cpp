#include "crypto/noise/cipher_state.h"

#include <array>

namespace ferry::crypto::noise {

void CipherState::initialize_key(ByteView key) {
  k_.assign(key);
  has_key_ = true;
  n_ = 0;
}

void CipherState::clear_key() {
  k_ = Key32();
  has_key_ = false;
  n_ = 0;
}

Result<void> CipherState::encrypt_with_ad(ByteView ad, ByteView plaintext, Bytes& out) {
  if (!has_key_) {
    out.insert(out.end(), plaintext.begin(), plaintext.end());
    return {};
  }
  if (n_ == kMaxNonce) return make_error(Errc::nonce_exhausted, "CipherState nonce exhausted");
  auto r = aead_encrypt(kind_, k_.view(), n_, ad, plaintext, out);
  if (!r) return r;
  ++n_;
  return {};
}

Result<void> CipherState::decrypt_with_ad(ByteView ad, ByteView ciphertext, Bytes& out) {
  if (!has_key_) {
    out.insert(out.end(), ciphertext.begin(), ciphertext.end());
    return {};
  }
  if (n_ == kMaxNonce) return make_error(Errc::nonce_exhausted, "CipherState nonce exhausted");
  auto r = aead_decrypt(kind_, k_.view(), n_, ad, ciphertext, out);
  if (!r) return r;  // n is not incremented on failure
  ++n_;
  return {};
}

Result<Bytes> CipherState::encrypt_with_ad(ByteView ad, ByteView plaintext) {
  Bytes out;
  out.reserve(plaintext.size() + kTagLen);
  auto r = encrypt_with_ad(ad, plaintext, out);
  if (!r) return r.error();
  return out;
}

Result<Bytes> CipherState::decrypt_with_ad(ByteView ad, ByteView ciphertext) {
  Bytes out;
  out.reserve(ciphertext.size());
  auto r = decrypt_with_ad(ad, ciphertext, out);
  if (!r) return r.error();
  return out;
}

Result<void> CipherState::rekey() {
  if (!has_key_) return make_error(Errc::invalid_state, "Rekey without a key");
  static const std::array<uint8_t, 32> kZeros{};
  Bytes out;
  out.reserve(kZeros.size() + kTagLen);
  auto r = aead_encrypt(kind_, k_.view(), kMaxNonce, {}, kZeros, out);
  if (!r) return r;
  k_.assign(ByteView(out.data(), 32));
  wipe(out.data(), out.size());
  return {};
}

Result<Bytes> CipherState::encrypt(ByteView plaintext) {
  if (!has_key_) return make_error(Errc::invalid_state, "transport CipherState has no key");
  if (plaintext.size() > kMaxPlaintextLen)
    return make_error(Errc::too_large, "transport message over 65535 bytes");
  return encrypt_with_ad({}, plaintext);
}

Result<Bytes> CipherState::decrypt(ByteView ciphertext) {
  if (!has_key_) return make_error(Errc::invalid_state, "transport CipherState has no key");
  if (ciphertext.size() > kMaxMessageLen)
    return make_error(Errc::too_large, "transport message over 65535 bytes");
  if (ciphertext.size() < kTagLen)
    return make_error(Errc::malformed, "transport message shorter than a tag");
  return decrypt_with_ad({}, ciphertext);
}

}  // namespace ferry::crypto::noise
