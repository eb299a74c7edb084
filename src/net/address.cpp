#include "net/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ferry::net {

std::optional<HostPort> HostPort::parse(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) return std::nullopt;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // An unbracketed IPv6 address is ambiguous ("::1:80"): refuse it.
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  if (host.empty() || host.size() > 253 || port.empty()) return std::nullopt;
  // No '%': no DNS name has one, and inet_pton refuses an IPv6 zone index.
  // (A '%' let "%07:443" through, which a link then spelled as a different host.)
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) return std::nullopt;
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535)
    return std::nullopt;
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::optional<SocketAddress> SocketAddress::from_numeric(std::string_view host, uint16_t port) {
  SocketAddress a;
  std::string h(host);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.ss_);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len_ = sizeof(sockaddr_in);
    return a;
  }
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len_ = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

SocketAddress SocketAddress::from_sockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress a;
  if (len > sizeof(a.ss_)) len = sizeof(a.ss_);
  std::memcpy(&a.ss_, sa, len);
  a.len_ = len;
  return a;
}

uint16_t SocketAddress::port() const {
  if (is_v4()) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss_)->sin_port);
  if (is_v6()) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_port);
  return 0;
}

void SocketAddress::set_port(uint16_t port) {
  if (is_v4()) reinterpret_cast<sockaddr_in*>(&ss_)->sin_port = htons(port);
  if (is_v6()) reinterpret_cast<sockaddr_in6*>(&ss_)->sin6_port = htons(port);
}

SocketAddress SocketAddress::unmapped() const {
  if (!is_v6()) return *this;
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&ss_);
  if (!IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) return *this;
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss_);
  v4->sin_family = AF_INET;
  v4->sin_port = v6->sin6_port;
  std::memcpy(&v4->sin_addr, &v6->sin6_addr.s6_addr[12], 4);
  a.len_ = sizeof(sockaddr_in);
  return a;
}

std::string SocketAddress::ip_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss_)->sin_addr, buf, sizeof buf);
  } else if (is_v6()) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_addr, buf, sizeof buf);
  } else {
    return "unknown";
  }
  return buf;
}

std::string SocketAddress::to_string() const {
  if (is_v6()) return "[" + ip_string() + "]:" + std::to_string(port());
  return ip_string() + ":" + std::to_string(port());
}

std::string_view SocketAddress::ip_bytes() const& {
  if (is_v4()) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&ss_);
    return {reinterpret_cast<const char*>(&v4->sin_addr), 4};
  }
  if (is_v6()) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&ss_);
    return {reinterpret_cast<const char*>(&v6->sin6_addr), 16};
  }
  return {};
}

std::string SocketAddress::client_network() const {
  const SocketAddress plain = unmapped();  // ip_bytes() points into it
  std::string_view b = plain.ip_bytes();
  return std::string(b.substr(0, b.size() == 16 ? 8 : b.size()));
}

bool SocketAddress::unspecified() const {
  const SocketAddress plain = unmapped();  // ip_bytes() points into it
  std::string_view b = plain.ip_bytes();
  return !b.empty() && std::all_of(b.begin(), b.end(), [](char c) { return c == 0; });
}

bool SocketAddress::operator==(const SocketAddress& o) const {
  return family() == o.family() && port() == o.port() && ip_bytes() == o.ip_bytes();
}

}  // namespace ferry::net
