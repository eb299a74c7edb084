// Test tooling only (fuzz targets): replaces libsodium's random source with a
// fixed-seed generator so that every run derives the same keys and a seed
// corpus of real messages stays valid. Never include this in product code.
// Must run before anything initialises libsodium.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "crypto/random.h"

namespace ferry::crypto::testing {

namespace detail {
inline uint64_t& state() {
  static uint64_t s = 0;
  return s;
}
inline uint64_t next() {  // splitmix64: plenty for reproducible test keys
  uint64_t z = (state() += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline const char* name() {
  return "ferry-deterministic-test";
}
inline uint32_t random32() {
  return static_cast<uint32_t>(next());
}
inline void buf(void* out, size_t len) {
  auto* p = static_cast<uint8_t*>(out);
  while (len > 0) {
    uint64_t v = next();
    size_t n = len < 8 ? len : 8;
    std::memcpy(p, &v, n);
    p += n;
    len -= n;
  }
}
}  // namespace detail

inline void use_deterministic_random(uint64_t seed) {
  static randombytes_implementation impl = {detail::name, detail::random32, nullptr,
                                            nullptr,      detail::buf,      nullptr};
  detail::state() = seed;
  if (randombytes_set_implementation(&impl) != 0) std::abort();
  ensure_initialized();
}

}  // namespace ferry::crypto::testing
