// Randomness and one-time library set-up for the crypto layer.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry::crypto {

// Calls sodium_init() once (thread-safe); every entry point that needs
// libsodium calls it, so users never have to.
void ensure_initialized();

// Fills `out` from the system CSPRNG (libsodium randombytes_buf).
void random_bytes(uint8_t* out, size_t len);

// A uniformly random 32-bit value (for prekey ids and tests).
uint32_t random_u32();

}  // namespace ferry::crypto
