// Numeric "HOST:PORT" addresses for the bench tools. No DNS on purpose: the
// benchmark runs on loopback and a lookup must never land in a timed loop.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace ferry::bench {

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // as the user wrote it, for reports

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
  int family() const { return addr.ss_family; }
};

// "127.0.0.1:9000" or "[::1]:9000". On failure returns nullopt and says why.
std::optional<Endpoint> parse_endpoint(std::string_view text, std::string& error);

}  // namespace ferry::bench
