// Handshake patterns as data (Noise rev 34 sections 7, 9.4, 10.2, 18.1).
//
// Every one-way, fundamental interactive and deferred pattern of the spec is
// a row in a table (pattern.cpp) written in the spec's own arrow notation and
// parsed at start-up; modifiers (psk0..pskN, fallback) are transformations of
// that data. Tokens are in canonical (initiator-relative) form: "es" is always
// DH(initiator's e, responder's s).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/result.h"

namespace ferry::crypto::noise {

enum class Token : uint8_t { e, s, ee, es, se, ss, psk };

std::string_view to_string(Token t);

struct HandshakePattern {
  std::string name;  // the pattern name section, e.g. "XXfallback" or "NNpsk0+psk2"
  std::vector<Token> initiator_premessage;
  std::vector<Token> responder_premessage;
  // messages[0] is sent by the initiator, then the parties alternate.
  std::vector<std::vector<Token>> messages;
  bool psk_mode = false;  // any psk modifier: "e" also calls MixKey(e.public_key)

  bool one_way() const { return messages.size() == 1; }
  size_t psk_count() const;
};

// Parses a pattern name section: a base pattern ("XX", "I1K1", "N", ...)
// followed by modifiers ("XXfallback", "NNpsk0+psk2"). Errc::unsupported for
// an unknown base pattern or modifier, Errc::malformed for bad syntax.
Result<HandshakePattern> pattern_from_name(std::string_view section);

// The spec's validity rules (section 7.3 items 1-3 and 9.3).
Result<void> validate_pattern(const HandshakePattern& pattern);

// Names of every base pattern in the table, in the spec's order.
std::vector<std::string_view> base_pattern_names();

}  // namespace ferry::crypto::noise
