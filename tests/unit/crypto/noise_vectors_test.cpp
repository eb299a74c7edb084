// Every vector of both public Noise files passes, from both sides.
#include "crypto/vectors/noise_vectors.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace ferry::crypto::vectors {
namespace {

void expect_all_pass(const std::string& file, size_t expected_count) {
  std::string text = test::read_text(test::shared_path(file));
  ASSERT_FALSE(text.empty()) << file;
  auto vectors = parse_noise_vectors(text);
  ASSERT_TRUE(vectors) << vectors.error().detail;
  ASSERT_EQ(vectors->size(), expected_count);
  size_t passed = 0;
  for (const auto& v : *vectors) {
    VectorReport r = run_noise_vector(v);
    EXPECT_EQ(r.outcome, VectorOutcome::passed) << v.protocol_name << ": " << r.detail;
    passed += r.outcome == VectorOutcome::passed;
  }
  EXPECT_EQ(passed, expected_count);
}

TEST(NoiseVectors, CacophonyAll944Pass) {
  expect_all_pass("vectors/noise/cacophony.json", 944);
}

TEST(NoiseVectors, NoiseCFallbackAllPass) {
  expect_all_pass("vectors/noise/noise-c-fallback.json", 32);
}

TEST(NoiseVectors, ACorruptedVectorFails) {
  // The runner must be able to fail: flip one ciphertext byte of a real vector.
  auto vectors =
      parse_noise_vectors(test::read_text(test::shared_path("vectors/noise/cacophony.json")));
  ASSERT_TRUE(vectors);
  for (size_t m : {0u, 1u, 2u, 5u}) {
    NoiseVector v = (*vectors)[13];
    v.messages[m].ciphertext[3] ^= 1;
    EXPECT_EQ(run_noise_vector(v).outcome, VectorOutcome::failed) << "message " << m;
  }
  NoiseVector v = (*vectors)[13];
  ASSERT_TRUE(v.handshake_hash);
  (*v.handshake_hash)[0] ^= 1;
  EXPECT_EQ(run_noise_vector(v).outcome, VectorOutcome::failed);
}

TEST(NoiseVectors, UnsupportedProtocolIsSkippedNotFailed) {
  NoiseVector v;
  v.protocol_name = "Noise_XX_25519_ChaChaPoly_SHA3/256";
  EXPECT_EQ(run_noise_vector(v).outcome, VectorOutcome::skipped);
  v.protocol_name = "Noise_NNhfs_25519+Kyber1024_ChaChaPoly_SHA256";
  EXPECT_EQ(run_noise_vector(v).outcome, VectorOutcome::skipped);
  v.protocol_name = "garbage";
  EXPECT_EQ(run_noise_vector(v).outcome, VectorOutcome::failed);
}

TEST(NoiseVectors, MalformedFilesAreErrors) {
  EXPECT_FALSE(parse_noise_vectors("{}"));
  EXPECT_FALSE(parse_noise_vectors(R"({"vectors": [{"protocol_name": 3, "messages": []}]})"));
  EXPECT_FALSE(
      parse_noise_vectors(R"({"vectors": [{"name": "x", "init_static": "zz", "messages": []}]})"));
  EXPECT_FALSE(
      parse_noise_vectors(R"({"vectors": [{"name": "x", "messages": [{"payload": ""}]}]})"));
}

}  // namespace
}  // namespace ferry::crypto::vectors
