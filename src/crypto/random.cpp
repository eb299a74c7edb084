#include "crypto/random.h"

#include <sodium.h>

#include <cstdlib>
#include <mutex>

namespace ferry::crypto {

void ensure_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    // sodium_init() fails only if the system has no usable entropy source;
    // running without randomness would be worse than stopping.
    if (sodium_init() < 0) std::abort();
  });
}

void random_bytes(uint8_t* out, size_t len) {
  ensure_initialized();
  randombytes_buf(out, len);
}

uint32_t random_u32() {
  ensure_initialized();
  return randombytes_random();
}

}  // namespace ferry::crypto
