// Runs Noise test vectors in the JSON format shared by cacophony and noise-c
// (both spellings of the field names). Each vector is played from both sides:
// every handshake and transport message is produced by one party and must
// equal the vector byte for byte, then read by the other party and must give
// back the payload; both parties' handshake hashes must equal the vector's.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/bytes.h"
#include "crypto/result.h"

namespace ferry::crypto::vectors {

struct NoiseVectorMessage {
  Bytes payload;
  Bytes ciphertext;
};

struct NoiseVector {
  std::string protocol_name;  // "protocol_name" (cacophony) or "name" (noise-c)
  // noise-c fallback vectors: the handshake starts with this pattern ("IK"),
  // the responder fails to read message 0 and both switch to protocol_name.
  bool fallback = false;
  std::string initial_pattern;
  Bytes init_prologue, resp_prologue;
  std::optional<Bytes> init_static, init_ephemeral, init_remote_static;
  std::optional<Bytes> resp_static, resp_ephemeral, resp_remote_static;
  std::vector<Bytes> init_psks, resp_psks;  // "init_psks" list or single "init_psk"
  std::optional<Bytes> handshake_hash;
  std::vector<NoiseVectorMessage> messages;
};

// Errc::malformed if the file is not JSON or a field has the wrong shape.
Result<std::vector<NoiseVector>> parse_noise_vectors(std::string_view json_text);

enum class VectorOutcome : uint8_t { passed, failed, skipped };

struct VectorReport {
  VectorOutcome outcome = VectorOutcome::failed;
  std::string detail;  // why it failed or was skipped
};

VectorReport run_noise_vector(const NoiseVector& vector);

// One line of the runner's output: results grouped by protocol name.
struct ProtocolTally {
  std::string protocol_name;
  size_t passed = 0;
  size_t failed = 0;
  size_t skipped = 0;
  std::string first_problem;
};

// In first-seen order of protocol names.
std::vector<ProtocolTally> run_noise_vectors(const std::vector<NoiseVector>& vectors);

}  // namespace ferry::crypto::vectors
