// Noise protocol names (rev 34 section 8): Noise_<pattern>_<dh>_<cipher>_<hash>.
#pragma once

#include <string>
#include <string_view>

#include "crypto/noise/pattern.h"
#include "crypto/primitives/aead.h"
#include "crypto/primitives/dh.h"
#include "crypto/primitives/hash.h"
#include "crypto/result.h"

namespace ferry::crypto::noise {

struct Protocol {
  std::string name;  // exactly as hashed into h by InitializeSymmetric
  HandshakePattern pattern;
  DhKind dh = DhKind::x25519;
  CipherKind cipher = CipherKind::chachapoly;
  HashKind hash = HashKind::sha256;
  // "NoisePSK_..." names from before revision 31 (noise-c's fallback vectors
  // use them): one PSK mixed in right after the prologue (ck, temp =
  // HKDF(ck, psk, 2); MixHash(temp)), and every "e" public key, pre-message
  // or message, is followed by MixKey(e.public_key).
  bool legacy_psk = false;
};

// Errc::unsupported for algorithms or patterns we do not implement,
// Errc::malformed for anything that is not a protocol name at all.
Result<Protocol> parse_protocol(std::string_view name);

// The same protocol with another pattern section (e.g. IK -> XXfallback).
Result<Protocol> with_pattern(const Protocol& protocol, std::string_view pattern_section);

}  // namespace ferry::crypto::noise
