#include "crypto/noise/protocol.h"

#include <array>
#include <optional>

namespace ferry::crypto::noise {
namespace {

constexpr size_t kMaxNameLen = 255;

std::optional<DhKind> dh_from(std::string_view s) {
  if (s == "25519") return DhKind::x25519;
  if (s == "448") return DhKind::x448;
  return std::nullopt;
}

std::optional<CipherKind> cipher_from(std::string_view s) {
  if (s == "ChaChaPoly") return CipherKind::chachapoly;
  if (s == "AESGCM") return CipherKind::aesgcm;
  return std::nullopt;
}

std::optional<HashKind> hash_from(std::string_view s) {
  if (s == "SHA256") return HashKind::sha256;
  if (s == "SHA512") return HashKind::sha512;
  if (s == "BLAKE2b") return HashKind::blake2b;
  if (s == "BLAKE2s") return HashKind::blake2s;
  return std::nullopt;
}

bool valid_section(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<Protocol> parse_protocol(std::string_view name) {
  if (name.size() > kMaxNameLen) return make_error(Errc::malformed, "protocol name over 255 bytes");
  std::array<std::string_view, 5> parts;
  std::string_view rest = name;
  for (size_t i = 0; i < parts.size(); ++i) {
    size_t us = rest.find('_');
    if ((us == std::string_view::npos) != (i == parts.size() - 1)) {
      return make_error(Errc::malformed, "protocol name needs five '_'-separated sections");
    }
    parts[i] = rest.substr(0, us);
    rest = us == std::string_view::npos ? std::string_view{} : rest.substr(us + 1);
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    if (!valid_section(parts[i])) return make_error(Errc::malformed, "bad protocol name section");
  }
  Protocol p;
  p.name = std::string(name);
  if (parts[0] == "NoisePSK") {
    p.legacy_psk = true;
  } else if (parts[0] != "Noise") {
    return make_error(Errc::malformed, "protocol name must start with Noise_");
  }
  auto dh = dh_from(parts[2]);
  auto cipher = cipher_from(parts[3]);
  auto hash = hash_from(parts[4]);
  if (!dh || !cipher || !hash)
    return make_error(Errc::unsupported, "unsupported DH, cipher or hash");
  p.dh = *dh;
  p.cipher = *cipher;
  p.hash = *hash;
  auto pattern = pattern_from_name(parts[1]);
  if (!pattern) return pattern.error();
  p.pattern = std::move(*pattern);
  // The old NoisePSK_ scheme and the psk modifiers do not mix.
  if (p.legacy_psk && p.pattern.psk_mode) {
    return make_error(Errc::unsupported, "NoisePSK_ with psk modifiers");
  }
  return p;
}

Result<Protocol> with_pattern(const Protocol& protocol, std::string_view pattern_section) {
  std::string name = protocol.legacy_psk ? "NoisePSK_" : "Noise_";
  name += pattern_section;
  std::string_view old = protocol.name;
  size_t first = old.find('_');
  size_t second = old.find('_', first + 1);
  name += old.substr(second);
  return parse_protocol(name);
}

}  // namespace ferry::crypto::noise
