// Helpers shared by the crypto tests: hex literals, file loading and a seeded
// random generator whose seed is printed whenever a test using it fails.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "crypto/bytes.h"

namespace ferry::crypto::test {

inline Bytes hex(std::string_view h) {
  auto b = from_hex(h);
  if (!b) ADD_FAILURE() << "bad hex literal " << h;
  return b.value_or(Bytes{});
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string shared_path(const std::string& rel) {
  return std::string(FERRY_SHARED_DIR) + "/" + rel;
}

// FERRY_TEST_SEED=<n> replays a run; otherwise a fresh seed each run.
inline uint64_t test_seed() {
  if (const char* s = std::getenv("FERRY_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}() * 0x9E3779B97F4A7C15ull ^ std::random_device{}();
}

class Seeded {
 public:
  Seeded() : seed_(test_seed()), rng_(seed_) {}
  uint64_t seed() const { return seed_; }
  std::mt19937_64& rng() { return rng_; }
  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  Bytes bytes(size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng_());
    return b;
  }

 private:
  uint64_t seed_;
  std::mt19937_64 rng_;
};

// Put at the top of a randomized test: the seed appears in every failure.
#define FERRY_SEEDED(name)            \
  ::ferry::crypto::test::Seeded name; \
  SCOPED_TRACE("replay with FERRY_TEST_SEED=" + std::to_string(name.seed()))

}  // namespace ferry::crypto::test
