// Addresses as they appear in config files and on the wire.
//
// HostPort is what the operator wrote ("g.whatsapp.net:5222", "[::]:443");
// SocketAddress is a resolved, numeric IPv4/IPv6 address and port.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::net {

struct HostPort {
  std::string host;  // hostname or numeric address, IPv6 without brackets
  uint16_t port = 0;

  // "[v6]:port", "v4:port" or "name:port"; port 1..65535. No default port.
  static std::optional<HostPort> parse(std::string_view text);
  std::string to_string() const;  // brackets IPv6 literals
  bool operator==(const HostPort&) const = default;
};

class SocketAddress {
 public:
  SocketAddress() = default;
  // Numeric host only (no DNS): "127.0.0.1", "::1", "::".
  static std::optional<SocketAddress> from_numeric(std::string_view host, uint16_t port);
  static std::optional<SocketAddress> from_host_port(const HostPort& hp) {
    return from_numeric(hp.host, hp.port);
  }
  static SocketAddress from_sockaddr(const sockaddr* sa, socklen_t len);

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss_); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&ss_); }
  socklen_t len() const { return len_; }
  socklen_t* len_ptr() { return &len_; }
  int family() const { return ss_.ss_family; }
  bool is_v4() const { return family() == AF_INET; }
  bool is_v6() const { return family() == AF_INET6; }
  uint16_t port() const;
  void set_port(uint16_t port);

  // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d; this gives
  // it back as plain IPv4 so it is logged, limited and forwarded as such.
  SocketAddress unmapped() const;

  std::string ip_string() const;  // "1.2.3.4" / "2001:db8::1"
  std::string to_string() const;  // "1.2.3.4:80" / "[2001:db8::1]:80"

  // Raw address bytes (4 or 16) - for per-IP tables and PROXY v2. A view
  // into this object, so not offered on a temporary (unmapped().ip_bytes()).
  std::string_view ip_bytes() const&;
  std::string_view ip_bytes() const&& = delete;
  // What per-client limits count as one client: the IPv4 address (4 bytes,
  // a mapped one unmapped) or the IPv6 /64 (its first 8 bytes), since one
  // subscriber is usually given a whole /64 and could otherwise pick a new
  // address for every connection. Empty for a non-IP address.
  std::string client_network() const;
  // 0.0.0.0, :: or ::ffff:0.0.0.0: "any" to bind, but Linux dials it as
  // loopback, so it is never an upstream.
  bool unspecified() const;

  bool operator==(const SocketAddress& o) const;

 private:
  sockaddr_storage ss_{};
  socklen_t len_ = 0;
};

}  // namespace ferry::net
