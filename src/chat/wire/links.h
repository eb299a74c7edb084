// The links people pass around: a server link (where the server is and which
// Noise static key it must prove it holds) and a proxy spec (how to reach the
// server through a ferry-proxy). Both are parsed strictly; an error message
// says what is wrong in words a user understands.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/address.h"

namespace ferry::chat {

inline constexpr size_t kServerKeySize = 32;  // an X25519 public key

// ferry://server?host=HOST&port=PORT&key=<base64url static public key>
struct ServerLink {
  net::HostPort address;
  std::string key;  // kServerKeySize raw bytes; empty when the link has none (XX, then pinned)

  static std::optional<ServerLink> parse(std::string_view text, std::string& error);
  std::string to_string() const;
};

// HOST:PORT, tls://HOST:PORT, or ferry://proxy?host=HOST&port=PORT[&tls=1]
struct ProxySpec {
  net::HostPort address;
  bool tls = false;

  static std::optional<ProxySpec> parse(std::string_view text, std::string& error);
  // The canonical spelling: "HOST:PORT" or "tls://HOST:PORT".
  std::string to_string() const;
  // ferry://proxy?host=...&port=...&tls=1 (what ferry-proxy prints).
  std::string to_link() const;
};

// RFC 4648 base64url without padding (libsodium). decode: nullopt on any
// character outside the alphabet or a bad length.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace ferry::chat
