// Byte layout of ratchet messages (docs/protocol.md, Part 3, "Ratchet
// messages"). Internal to ratchet.cpp and its tests; the public entry points
// are peek_message_type() and parse_prekey_message() in ratchet.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "crypto/bytes.h"
#include "crypto/keys.h"
#include "crypto/result.h"

namespace ferry::crypto::ratchet_wire {

inline constexpr size_t kHeaderLen = 2 + kKeyLen + 4 + 4;  // version, type, key, PN, N
inline constexpr size_t kMacLen = 32;
inline constexpr size_t kBlockLen = 16;
inline constexpr size_t kMinNormalLen = kHeaderLen + kBlockLen + kMacLen;

struct NormalMessage {
  PublicKey ratchet_key{};
  uint32_t previous_chain_length = 0;  // PN
  uint32_t n = 0;                      // N
  ByteView ciphertext;                 // AES-256-CBC, a multiple of 16 bytes
  ByteView mac;                        // 32 bytes
  ByteView authenticated;              // header || ciphertext: what the MAC covers after AD
};

struct PrekeyWrapper {
  ByteView sender_identity;  // 32 bytes, checked by the caller
  PublicKey base_key{};
  uint32_t signed_prekey_id = 0;
  std::optional<uint32_t> one_time_prekey_id;
  ByteView inner;  // a complete normal message
};

// header || ciphertext (the MAC is appended by the caller).
Bytes encode_normal_body(const PublicKey& ratchet_key, uint32_t pn, uint32_t n,
                         ByteView ciphertext);
Result<NormalMessage> decode_normal(ByteView message);

Bytes encode_prekey(ByteView sender_identity, const PublicKey& base_key, uint32_t signed_prekey_id,
                    std::optional<uint32_t> one_time_prekey_id, ByteView inner);
Result<PrekeyWrapper> decode_prekey(ByteView message);

}  // namespace ferry::crypto::ratchet_wire
