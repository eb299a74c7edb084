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
// More TLVs than this in one header is refused: a real sender puts a handful,
// and it bounds what one header can make us allocate.
inline constexpr size_t kMaxTlvs = 64;

// TLV types from the spec (section 2.2).
inline constexpr uint8_t kTlvAlpn = 0x01;
inline constexpr uint8_t kTlvAuthority = 0x02;
inline constexpr uint8_t kTlvCrc32c = 0x03;
inline constexpr uint8_t kTlvNoop = 0x04;
inline constexpr uint8_t kTlvUniqueId = 0x05;
inline constexpr uint8_t kTlvSsl = 0x20;
inline constexpr uint8_t kTlvNetns = 0x30;

struct Tlv {
  uint8_t type = 0;
  std::string value;
};

struct Header {
  int version = 0;  // 1 or 2
  // v1 "UNKNOWN", v2 LOCAL, or v2 PROXY for a family we do not relay (UNSPEC,
  // UNIX, DGRAM): no usable address, keep the connection's own addresses.
  bool local = false;
  std::optional<SocketAddress> source;       // the real client
  std::optional<SocketAddress> destination;  // the address it connected to
  std::vector<Tlv> tlvs;  // v2 only, validated and kept in order (NOOP padding dropped;
                          // PP2_TYPE_SSL kept raw, its sub-TLVs checked for shape)
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

// v2 with TLVs after the addresses, and a CRC32C TLV over the whole header
// when `add_crc32c`. Returns "" when the result would not fit the 16-bit
// length field.
std::string build_v2(const SocketAddress& source, const SocketAddress& destination,
                     std::span<const Tlv> tlvs, bool add_crc32c);

// CRC32C (Castagnoli, RFC 4960 appendix B) as PP2_TYPE_CRC32C uses it.
uint32_t crc32c(std::span<const uint8_t> data);

}  // namespace ferry::net::proxy_protocol
