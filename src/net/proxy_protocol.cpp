#include "net/proxy_protocol.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

namespace ferry::net::proxy_protocol {
namespace {

constexpr std::array<uint8_t, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr size_t kV2FixedSize = 16;
constexpr std::string_view kV1Prefix = "PROXY ";
// Longest textual address a v1 line can carry: a full IPv6 address with an
// embedded dotted quad ("ffff:...:ffff:255.255.255.255").
constexpr size_t kMaxAddressText = 45;
// PP2_TYPE_UNIQUE_ID is "up to 128 bytes" by the spec.
constexpr size_t kMaxUniqueId = 128;

// v2 byte 13: version and command; byte 14: family and transport.
constexpr uint8_t kCmdLocal = 0x0;
constexpr uint8_t kCmdProxy = 0x1;
constexpr uint8_t kTcp4 = 0x11;
constexpr uint8_t kTcp6 = 0x21;

ParseResult invalid(const char* why) {
  ParseResult r;
  r.status = Status::invalid;
  r.error = why;
  return r;
}

ParseResult incomplete() {
  ParseResult r;
  r.status = Status::incomplete;
  return r;
}

// ---------------------------------------------------------------- v1 text

// What a piece of text is with respect to one field of the line: unusable,
// the beginning of something valid, or a complete valid value.
enum class Shape : uint8_t { bad, prefix, full };

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Four decimal numbers 0..255 separated by single dots, no leading zeros
// (the spec forbids them: they could be read as octal).
Shape dotted_quad(std::string_view t) {
  int groups = 1;
  int digits = 0;
  unsigned value = 0;
  for (char c : t) {
    if (c == '.') {
      if (digits == 0 || groups == 4) return Shape::bad;
      ++groups;
      digits = 0;
      value = 0;
    } else if (is_digit(c)) {
      if (digits == 1 && value == 0) return Shape::bad;
      value = value * 10 + static_cast<unsigned>(c - '0');
      ++digits;
      if (value > 255) return Shape::bad;
    } else {
      return Shape::bad;
    }
  }
  return groups == 4 && digits > 0 ? Shape::full : Shape::prefix;
}

// IPv6 text as inet_ntop writes it (and as the spec describes): groups of one
// to four hex digits, at most one "::", optionally ending in a dotted quad.
// Only rejects what no extension could repair, so that every prefix of a
// valid address stays a `prefix`; the final word is inet_pton's.
Shape ipv6_text(std::string_view t) {
  if (t.size() > kMaxAddressText) return Shape::bad;
  std::string_view hex = t;
  std::string_view quad;
  size_t dot = t.find('.');
  if (dot != std::string_view::npos) {
    size_t colon = t.rfind(':', dot);
    if (colon == std::string_view::npos) return Shape::bad;
    hex = t.substr(0, colon + 1);
    quad = t.substr(colon + 1);
    if (dotted_quad(quad) == Shape::bad) return Shape::bad;
  }
  // On the whole text, not `hex`: ":1" must stay bad when a dot follows.
  if (t.size() >= 2 && t[0] == ':' && t[1] != ':') return Shape::bad;
  int groups = 0;
  int run = 0;
  int double_colons = 0;
  for (size_t i = 0; i < hex.size(); ++i) {
    char c = hex[i];
    if (c == ':') {
      if (i > 0 && hex[i - 1] == ':' && ++double_colons > 1) return Shape::bad;
      run = 0;
    } else if (is_hex(c)) {
      if (++run > 4) return Shape::bad;
      if (run == 1) ++groups;
    } else {
      return Shape::bad;
    }
  }
  if (dot != std::string_view::npos) groups += 2;
  if (groups > (double_colons ? 7 : 8)) return Shape::bad;
  if (dot != std::string_view::npos && dotted_quad(quad) != Shape::full) return Shape::prefix;
  char text[kMaxAddressText + 1] = {};
  std::memcpy(text, t.data(), t.size());
  in6_addr a{};
  return inet_pton(AF_INET6, text, &a) == 1 ? Shape::full : Shape::prefix;
}

// 0..65535 in decimal, no sign, no leading zero.
Shape port_text(std::string_view t) {
  if (t.empty()) return Shape::prefix;
  if (t.size() > 5 || (t[0] == '0' && t.size() > 1)) return Shape::bad;
  unsigned value = 0;
  for (char c : t) {
    if (!is_digit(c)) return Shape::bad;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535 ? Shape::full : Shape::bad;
}

enum class V1Proto : uint8_t { none, tcp4, tcp6, unknown };

Shape keyword_text(std::string_view t, V1Proto& proto) {
  static constexpr std::pair<std::string_view, V1Proto> kWords[] = {
      {"TCP4", V1Proto::tcp4}, {"TCP6", V1Proto::tcp6}, {"UNKNOWN", V1Proto::unknown}};
  for (const auto& [word, p] : kWords) {
    if (t == word) {
      proto = p;
      return Shape::full;
    }
  }
  for (const auto& [word, p] : kWords) {
    if (word.starts_with(t)) return Shape::prefix;
  }
  return Shape::bad;
}

// Fields after "PROXY ": keyword, source, destination, source port, destination port.
Shape field_text(int field, std::string_view t, V1Proto& proto) {
  switch (field) {
    case 0:
      return keyword_text(t, proto);
    case 1:
    case 2:
      return proto == V1Proto::tcp4 ? dotted_quad(t) : ipv6_text(t);
    default:
      return port_text(t);
  }
}

uint16_t port_value(std::string_view t) {
  unsigned v = 0;
  for (char c : t) v = v * 10 + static_cast<unsigned>(c - '0');
  return static_cast<uint16_t>(v);
}

// "PROXY UNKNOWN" then either CRLF or a space and anything printable up to
// CRLF, which the spec says the receiver must ignore.
ParseResult parse_v1_unknown_tail(std::string_view s, size_t from, bool more_possible) {
  for (size_t i = from; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\r') {
      if (i + 1 == s.size()) return more_possible ? incomplete() : invalid("v1 line too long");
      if (s[i + 1] != '\n') return invalid("v1 CR without LF");
      ParseResult r;
      r.status = Status::complete;
      r.consumed = i + 2;
      r.header.version = 1;
      r.header.local = true;
      return r;
    }
    if (c < 0x20 || c > 0x7e) return invalid("v1 bad character");
  }
  return more_possible ? incomplete() : invalid("v1 line too long");
}

ParseResult parse_v1(std::span<const uint8_t> data) {
  const size_t n = std::min(data.size(), kMaxV1Size);
  const std::string_view s(reinterpret_cast<const char*>(data.data()), n);
  // Whether bytes still to come could finish the line within 107 bytes.
  const bool more_possible = n < kMaxV1Size;

  const size_t sig = std::min(n, kV1Prefix.size());
  if (s.substr(0, sig) != kV1Prefix.substr(0, sig)) return invalid("bad v1 signature");
  if (n < kV1Prefix.size()) return incomplete();

  V1Proto proto = V1Proto::none;
  std::string_view fields[5];
  int field = 0;
  size_t start = kV1Prefix.size();
  for (size_t i = start; i < n; ++i) {
    const char c = s[i];
    if (c == '\n') return invalid("v1 LF without CR");
    if (c != ' ' && c != '\r') continue;
    const std::string_view token = s.substr(start, i - start);
    if (field_text(field, token, proto) != Shape::full) return invalid("v1 malformed field");
    fields[field] = token;
    if (proto == V1Proto::unknown) return parse_v1_unknown_tail(s, i, more_possible);
    if (c == ' ') {
      if (field == 4) return invalid("v1 extra field");
      ++field;
      start = i + 1;
      continue;
    }
    // CR: only after the destination port, and only as CRLF.
    if (field != 4) return invalid("v1 line ends early");
    if (i + 1 == n) return more_possible ? incomplete() : invalid("v1 line too long");
    if (s[i + 1] != '\n') return invalid("v1 CR without LF");
    ParseResult r;
    r.status = Status::complete;
    r.consumed = i + 2;
    r.header.version = 1;
    r.header.source = SocketAddress::from_numeric(fields[1], port_value(fields[3]));
    r.header.destination = SocketAddress::from_numeric(fields[2], port_value(fields[4]));
    if (!r.header.source || !r.header.destination) return invalid("v1 bad address");
    return r;
  }
  // No separator after the last field yet: is what we have a start of it?
  if (field_text(field, s.substr(start), proto) == Shape::bad) return invalid("v1 malformed field");
  return more_possible ? incomplete() : invalid("v1 line too long");
}

// ---------------------------------------------------------------- v2 binary

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

// Bytes of address block each (family, transport) pair the spec lists
// carries; -1 for a pair it does not list, which must be refused.
int address_block_size(uint8_t family_transport) {
  switch (family_transport) {
    case 0x00:
      return 0;
    case 0x11:
    case 0x12:
      return 12;
    case 0x21:
    case 0x22:
      return 36;
    case 0x31:
    case 0x32:
      return 216;
    default:
      return -1;
  }
}

// Sub-TLVs of PP2_TYPE_SSL: after 1 byte of client flags and 4 of verify
// result, each sub-TLV must fit exactly.
bool ssl_tlv_well_formed(std::span<const uint8_t> v) {
  if (v.size() < 5) return false;
  size_t off = 5;
  while (off < v.size()) {
    if (v.size() - off < 3) return false;
    const size_t len = be16(&v[off + 1]);
    if (v.size() - off - 3 < len) return false;
    off += 3 + len;
  }
  return true;
}

struct TlvWalk {
  const char* error = nullptr;  // set when invalid
  size_t crc_offset = 0;        // from the start of the header; 0 = no CRC TLV
};

// Walks the TLV area: `declared` bytes long by the header, of which
// `tlvs.size()` have arrived. Whatever can be judged from the bytes present
// is judged now, so a header that cannot become valid fails at once.
TlvWalk walk_tlvs(std::span<const uint8_t> tlvs, size_t declared, size_t area_offset,
                  std::vector<Tlv>* out) {
  TlvWalk w;
  size_t off = 0;
  size_t count = 0;
  while (off < declared) {
    if (declared - off < 3) {
      w.error = "v2 truncated TLV";
      return w;
    }
    if (++count > kMaxTlvs) {
      w.error = "v2 too many TLVs";
      return w;
    }
    if (tlvs.size() - std::min(tlvs.size(), off) < 3) return w;  // rest not here yet
    const uint8_t type = tlvs[off];
    const size_t len = be16(&tlvs[off + 1]);
    if (declared - off - 3 < len) {
      w.error = "v2 TLV overruns header";
      return w;
    }
    if (tlvs.size() - off - 3 < len) return w;  // value not here yet
    const auto value = tlvs.subspan(off + 3, len);
    if (type == kTlvCrc32c) {
      if (len != 4) {
        w.error = "v2 CRC32C TLV not 4 bytes";
        return w;
      }
      if (w.crc_offset != 0) {
        w.error = "v2 duplicate CRC32C TLV";
        return w;
      }
      w.crc_offset = area_offset + off + 3;
    } else if (type == kTlvUniqueId && len > kMaxUniqueId) {
      w.error = "v2 UNIQUE_ID longer than 128 bytes";
      return w;
    } else if (type == kTlvSsl && !ssl_tlv_well_formed(value)) {
      w.error = "v2 malformed SSL TLV";
      return w;
    }
    if (out && type != kTlvNoop) {
      out->push_back(Tlv{type, std::string(reinterpret_cast<const char*>(value.data()), len)});
    }
    off += 3 + len;
  }
  return w;
}

SocketAddress make_v4(const uint8_t* addr, const uint8_t* port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  std::memcpy(&sin.sin_addr, addr, 4);
  std::memcpy(&sin.sin_port, port, 2);
  return SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
}

SocketAddress make_v6(const uint8_t* addr, const uint8_t* port) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  std::memcpy(&sin6.sin6_addr, addr, 16);
  std::memcpy(&sin6.sin6_port, port, 2);
  return SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
}

bool crc_matches(std::span<const uint8_t> header, size_t crc_offset) {
  std::array<uint8_t, kMaxHeaderSize> copy{};
  std::memcpy(copy.data(), header.data(), header.size());
  const uint32_t sent = (uint32_t{copy[crc_offset]} << 24) |
                        (uint32_t{copy[crc_offset + 1]} << 16) |
                        (uint32_t{copy[crc_offset + 2]} << 8) | uint32_t{copy[crc_offset + 3]};
  std::memset(&copy[crc_offset], 0, 4);
  return crc32c({copy.data(), header.size()}) == sent;
}

ParseResult parse_v2(std::span<const uint8_t> data) {
  const size_t sig = std::min(data.size(), kV2Signature.size());
  if (std::memcmp(data.data(), kV2Signature.data(), sig) != 0) return invalid("bad v2 signature");
  if (data.size() > 12) {
    if ((data[12] >> 4) != 2) return invalid("v2 unsupported version");
    const uint8_t cmd = data[12] & 0x0F;
    if (cmd != kCmdLocal && cmd != kCmdProxy) return invalid("v2 unsupported command");
  }
  if (data.size() > 13 && address_block_size(data[13]) < 0) {
    return invalid("v2 unsupported family or transport");
  }
  if (data.size() < kV2FixedSize) return incomplete();

  const size_t length = be16(&data[14]);
  if (length > kMaxHeaderSize - kV2FixedSize) return invalid("v2 header too long");
  const auto address_size = static_cast<size_t>(address_block_size(data[13]));
  if (length < address_size) return invalid("v2 address block too short");
  const size_t total = kV2FixedSize + length;
  const size_t tlv_start = kV2FixedSize + address_size;
  const bool whole = data.size() >= total;

  ParseResult r;
  const auto have = data.subspan(0, std::min(data.size(), total));
  const auto tlv_bytes = have.size() > tlv_start ? have.subspan(tlv_start) : have.subspan(0, 0);
  TlvWalk w = walk_tlvs(tlv_bytes, total - tlv_start, tlv_start, whole ? &r.header.tlvs : nullptr);
  if (w.error) return invalid(w.error);
  if (!whole) return incomplete();
  if (w.crc_offset != 0 && !crc_matches(have, w.crc_offset)) return invalid("v2 CRC32C mismatch");

  r.status = Status::complete;
  r.consumed = total;
  r.header.version = 2;
  const uint8_t* a = data.data() + kV2FixedSize;
  if ((data[12] & 0x0F) == kCmdProxy && data[13] == kTcp4) {
    r.header.source = make_v4(a, a + 8);
    r.header.destination = make_v4(a + 4, a + 10);
  } else if ((data[12] & 0x0F) == kCmdProxy && data[13] == kTcp6) {
    r.header.source = make_v6(a, a + 32);
    r.header.destination = make_v6(a + 16, a + 34);
  } else {
    // LOCAL, or a family/transport we do not relay: the spec lets us use the
    // connection's own endpoints.
    r.header.local = true;
  }
  return r;
}

// ---------------------------------------------------------------- building

bool is_ip(const SocketAddress& a) {
  return a.is_v4() || a.is_v6();
}

SocketAddress mapped_v6(const SocketAddress& a) {
  if (!a.is_v4()) return a;
  uint8_t bytes[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  std::memcpy(bytes + 12, a.ip_bytes().data(), 4);
  const uint16_t port = htons(a.port());
  return make_v6(bytes, reinterpret_cast<const uint8_t*>(&port));
}

void put16(std::string& out, size_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrc32cTable = make_crc32c_table();

}  // namespace

ParseResult parse(std::span<const uint8_t> data) {
  if (data.empty()) return incomplete();
  if (data[0] == static_cast<uint8_t>(kV1Prefix[0])) return parse_v1(data);
  if (data[0] == kV2Signature[0]) return parse_v2(data);
  return invalid("not a PROXY header");
}

uint32_t crc32c(std::span<const uint8_t> data) {
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : data) c = kCrc32cTable[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string build_v1(const SocketAddress& source, const SocketAddress& destination) {
  if (!is_ip(source) || !is_ip(destination)) return "PROXY UNKNOWN\r\n";
  const bool v4 = source.is_v4() && destination.is_v4();
  const SocketAddress src = v4 ? source : mapped_v6(source);
  const SocketAddress dst = v4 ? destination : mapped_v6(destination);
  std::string out = v4 ? "PROXY TCP4 " : "PROXY TCP6 ";
  out += src.ip_string();
  out += ' ';
  out += dst.ip_string();
  out += ' ';
  out += std::to_string(src.port());
  out += ' ';
  out += std::to_string(dst.port());
  out += "\r\n";
  return out;
}

std::string build_v2(const SocketAddress& source, const SocketAddress& destination,
                     std::span<const Tlv> tlvs, bool add_crc32c) {
  std::string out(reinterpret_cast<const char*>(kV2Signature.data()), kV2Signature.size());
  std::string body;
  if (!is_ip(source) || !is_ip(destination)) {
    // No address to tell: LOCAL, which every receiver must accept (v1 says
    // UNKNOWN in the same case).
    out.push_back(static_cast<char>(0x20 | kCmdLocal));
    out.push_back(0x00);
  } else {
    const bool v4 = source.is_v4() && destination.is_v4();
    const SocketAddress src = v4 ? source : mapped_v6(source);
    const SocketAddress dst = v4 ? destination : mapped_v6(destination);
    out.push_back(static_cast<char>(0x20 | kCmdProxy));
    out.push_back(static_cast<char>(v4 ? kTcp4 : kTcp6));
    body += src.ip_bytes();
    body += dst.ip_bytes();
    put16(body, src.port());
    put16(body, dst.port());
  }
  for (const Tlv& t : tlvs) {
    if (t.value.size() > 0xFFFF) return "";
    body.push_back(static_cast<char>(t.type));
    put16(body, t.value.size());
    body += t.value;
  }
  size_t crc_at = 0;
  if (add_crc32c) {
    body.push_back(static_cast<char>(kTlvCrc32c));
    put16(body, 4);
    crc_at = kV2FixedSize + body.size();
    body.append(4, '\0');
  }
  if (body.size() > 0xFFFF) return "";
  put16(out, body.size());
  out += body;
  if (add_crc32c) {
    const uint32_t c = crc32c({reinterpret_cast<const uint8_t*>(out.data()), out.size()});
    for (int i = 0; i < 4; ++i) out[crc_at + i] = static_cast<char>((c >> (24 - 8 * i)) & 0xff);
  }
  return out;
}

std::string build_v2(const SocketAddress& source, const SocketAddress& destination) {
  return build_v2(source, destination, {}, false);
}

std::string build_v2_local() {
  std::string out(reinterpret_cast<const char*>(kV2Signature.data()), kV2Signature.size());
  out.push_back(static_cast<char>(0x20 | kCmdLocal));
  out.push_back(0x00);
  put16(out, 0);
  return out;
}

}  // namespace ferry::net::proxy_protocol
