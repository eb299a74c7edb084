// The PROXY protocol, versions 1 and 2 (HAProxy's doc/proxy-protocol.txt):
// the header a load balancer puts in front of a TCP stream to say who the
// real client is. Strict parsing of what we accept, exact emission of what we
// send. No I/O here: the caller peeks bytes and asks parse() what they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/address.h"

namespace ferry::net::proxy_protocol {

// Longest header we accept. v1 is at most 107 bytes by the spec; v2 allows
// 16 + 65535, but nothing we accept from needs more than a few TLVs.
inline constexpr size_t kMaxHeaderSize = 1024;
inline constexpr size_t kMaxV1Size = 107;

struct Tlv {
  uint8_t type = 0;
  std::string value;
};

struct Header {
  int version = 0;     // 1 or 2
  bool local = false;  // v1 "UNKNOWN" or v2 LOCAL: keep the connection's own addresses
  std::optional<SocketAddress> source;       // the real client
  std::optional<SocketAddress> destination;  // the address it connected to
  std::vector<Tlv> tlvs;                     // v2 only, validated and kept
};

enum class Status : uint8_t {
  complete,    // `consumed` bytes are the header; the stream starts after them
  incomplete,  // a valid prefix: read more (within the handshake timeout)
  invalid,     // not a PROXY header, or a malformed one: close the connection
};

struct ParseResult {
  Status status = Status::invalid;
  size_t consumed = 0;
  Header header;
  const char* error = "";  // static reason when invalid, e.g. "bad signature"
};

// `data` is everything received so far (from MSG_PEEK). Never reads past
// data.size(); never allocates more than kMaxHeaderSize worth of TLVs.
ParseResult parse(std::span<const uint8_t> data);

// Writes a header for a connection from `source` to `destination` (families
// may differ: IPv4 is then sent as IPv4-mapped IPv6). Returns the bytes.
std::string build_v1(const SocketAddress& source, const SocketAddress& destination);
std::string build_v2(const SocketAddress& source, const SocketAddress& destination);
// v2 LOCAL command (health checks): no addresses.
std::string build_v2_local();

}  // namespace ferry::net::proxy_protocol
