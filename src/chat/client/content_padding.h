// A message's plaintext (a serialized Content) is padded to a multiple of 64
// bytes, so the ratchet ciphertext tells the server and the path only the
// length rounded up: texts of similar length look alike on the wire.
#pragma once

#include "chat/proto/messages.h"

namespace ferry::chat::client {

inline constexpr size_t kContentBlock = 64;

// Sets c.padding (zero bytes) so that c serializes to a multiple of
// kContentBlock: 1 to 64 bytes of padding, never none, since proto3 leaves an
// empty field out and the 2-byte field header would then be missing.
void pad_content(pb::Content& c);

}  // namespace ferry::chat::client
