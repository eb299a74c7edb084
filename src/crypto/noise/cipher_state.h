// Noise CipherState (rev 34 section 5.1): a key k and a 64-bit nonce n.
//
// encrypt_with_ad/decrypt_with_ad follow the spec exactly, including passing
// data through unchanged while k is empty (handshake use). encrypt/decrypt
// are the transport-message calls: they require a key, use empty associated
// data, and enforce the 65535-byte Noise message limit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "crypto/bytes.h"
#include "crypto/primitives/aead.h"
#include "crypto/result.h"
#include "crypto/secret.h"

namespace ferry::crypto::noise {

inline constexpr size_t kMaxMessageLen = 65535;  // any Noise message, handshake or transport
inline constexpr size_t kTagLen = kAeadTagLen;
inline constexpr size_t kMaxPlaintextLen = kMaxMessageLen - kTagLen;
// n = 2^64-1 is reserved: once n reaches it, encryption and decryption fail.
inline constexpr uint64_t kMaxNonce = ~uint64_t{0};

class CipherState {
 public:
  explicit CipherState(CipherKind kind = CipherKind::chachapoly) : kind_(kind) {}

  // InitializeKey(key): key must be 32 bytes. Sets n = 0.
  void initialize_key(ByteView key);
  void clear_key();  // InitializeKey(empty)
  bool has_key() const { return has_key_; }
  void set_nonce(uint64_t n) { n_ = n; }
  uint64_t nonce() const { return n_; }
  CipherKind kind() const { return kind_; }

  // EncryptWithAd / DecryptWithAd. A failed decryption leaves n unchanged.
  Result<Bytes> encrypt_with_ad(ByteView ad, ByteView plaintext);
  Result<Bytes> decrypt_with_ad(ByteView ad, ByteView ciphertext);
  // Appending variants (no allocation when `out` has room).
  Result<void> encrypt_with_ad(ByteView ad, ByteView plaintext, Bytes& out);
  Result<void> decrypt_with_ad(ByteView ad, ByteView ciphertext, Bytes& out);

  // Rekey(): k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes).
  // Does not change n.
  Result<void> rekey();

  // Transport messages: Errc::invalid_state without a key, Errc::too_large if
  // the message would exceed 65535 bytes.
  Result<Bytes> encrypt(ByteView plaintext);
  Result<Bytes> decrypt(ByteView ciphertext);

 private:
  CipherKind kind_;
  bool has_key_ = false;
  Key32 k_;
  uint64_t n_ = 0;
};

}  // namespace ferry::crypto::noise
