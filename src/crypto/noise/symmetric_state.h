// Noise SymmetricState (rev 34 section 5.2): chaining key ck, handshake hash h
// and the handshake CipherState.
#pragma once

#include <string_view>
#include <utility>

#include "crypto/bytes.h"
#include "crypto/noise/cipher_state.h"
#include "crypto/primitives/hash.h"
#include "crypto/result.h"
#include "crypto/secret.h"

namespace ferry::crypto::noise {

class SymmetricState {
 public:
  SymmetricState(HashKind hash, CipherKind cipher, std::string_view protocol_name);

  void mix_key(ByteView ikm);
  void mix_hash(ByteView data);
  void mix_key_and_hash(ByteView ikm);
  // The pre-revision-31 "NoisePSK_" step used by noise-c's fallback vectors:
  // ck, temp = HKDF(ck, psk, 2); MixHash(temp). Does not touch k.
  void mix_legacy_psk(ByteView psk);
  Result<void> encrypt_and_hash(ByteView plaintext, Bytes& out);
  Result<void> decrypt_and_hash(ByteView ciphertext, Bytes& out);
  // Split(): (c1 initiator->responder, c2 responder->initiator).
  std::pair<CipherState, CipherState> split() const;

  bool has_key() const { return cipher_.has_key(); }
  ByteView handshake_hash() const { return {h_.data(), hlen_}; }
  HashKind hash_kind() const { return hash_; }
  size_t hash_len() const { return hlen_; }

 private:
  HashKind hash_;
  size_t hlen_;
  CipherState cipher_;
  SecretArray<kMaxHashLen> ck_;
  SecretArray<kMaxHashLen> h_;
};

}  // namespace ferry::crypto::noise
