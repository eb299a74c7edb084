// The Double Ratchet's key derivations with Signal's parameters:
//   chain step:   message seed = HMAC-SHA256(ck, 0x01), next ck = HMAC-SHA256(ck, 0x02)
//   message keys: HKDF-SHA256(ikm = seed, salt = 32 zero bytes,
//                 info = "WhisperMessageKeys", 80) = cipher key(32) | MAC key(32) | IV(16)
//   root step:    HKDF-SHA256(ikm = DH output, salt = root key,
//                 info = "WhisperRatchet", 64) = new root key(32) | chain key(32)
#pragma once

#include "crypto/bytes.h"
#include "crypto/secret.h"

namespace ferry::crypto {

struct ChainStep {
  Key32 next_chain_key;
  Key32 message_seed;
};

struct MessageKeys {
  Key32 cipher_key;
  Key32 mac_key;
  SecretArray<16> iv;
};

struct RootStep {
  Key32 root_key;
  Key32 chain_key;
};

ChainStep kdf_chain(const Key32& chain_key);
MessageKeys kdf_message_keys(const Key32& message_seed);
RootStep kdf_root(const Key32& root_key, ByteView dh_output);

}  // namespace ferry::crypto
