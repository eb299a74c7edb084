#include "net/proxy_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry::net::proxy_protocol {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

ParseResult parse_text(const std::string& s) {
  return parse(bytes(s));
}

SocketAddress addr(const char* ip, uint16_t port) {
  auto a = SocketAddress::from_numeric(ip, port);
  EXPECT_TRUE(a) << ip;
  return a.value_or(SocketAddress{});
}

const std::string kSig("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A", 12);

// A v2 header from its parts, for the malformed cases builders never make.
std::string v2(uint8_t ver_cmd, uint8_t fam, const std::string& body) {
  std::string h = kSig;
  h.push_back(static_cast<char>(ver_cmd));
  h.push_back(static_cast<char>(fam));
  h.push_back(static_cast<char>(body.size() >> 8));
  h.push_back(static_cast<char>(body.size() & 0xff));
  return h + body;
}

std::string tlv(uint8_t type, const std::string& value) {
  std::string t(1, static_cast<char>(type));
  t.push_back(static_cast<char>(value.size() >> 8));
  t.push_back(static_cast<char>(value.size() & 0xff));
  return t + value;
}

const std::string kV4Block("\xC0\x00\x02\x01\xC6\x33\x64\x07\x30\x39\x01\xBB", 12);

void expect_every_prefix_incomplete(const std::string& header) {
  for (size_t n = 0; n < header.size(); ++n) {
    auto r = parse(bytes(header).subspan(0, n));
    EXPECT_EQ(r.status, Status::incomplete) << "prefix of " << n << " bytes: " << r.error;
  }
}

// ------------------------------------------------------------------ v1

TEST(ProxyProtocolV1, ParsesTheSpecExampleAndStopsAtTheHeader) {
  const std::string header = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
  auto r = parse_text(header + "GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n");
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.consumed, header.size());
  EXPECT_EQ(r.header.version, 1);
  EXPECT_FALSE(r.header.local);
  EXPECT_EQ(r.header.source->to_string(), "192.168.0.1:56324");
  EXPECT_EQ(r.header.destination->to_string(), "192.168.0.11:443");
  expect_every_prefix_incomplete(header);
}

TEST(ProxyProtocolV1, ParsesTcp6IncludingTheLongestLineAndMappedForms) {
  const std::string longest =
      "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  ASSERT_EQ(longest.size(), 104u);
  auto r = parse_text(longest);
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.consumed, 104u);
  EXPECT_EQ(r.header.source->port(), 65535);
  expect_every_prefix_incomplete(longest);

  const std::string mapped = "PROXY TCP6 ::ffff:192.0.2.1 2001:DB8::7 0 8443\r\n";
  r = parse_text(mapped);
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.header.source->to_string(), "[::ffff:192.0.2.1]:0");
  EXPECT_EQ(r.header.destination->to_string(), "[2001:db8::7]:8443");
  expect_every_prefix_incomplete(mapped);
}

TEST(ProxyProtocolV1, UnknownIsLocalWithOrWithoutTheIgnoredRest) {
  for (const std::string& h : {std::string("PROXY UNKNOWN\r\n"),
                               std::string("PROXY UNKNOWN ffff:f::f ffff:f::f 65535 65535\r\n"),
                               "PROXY UNKNOWN " + std::string(90, 'x') + "\r\n"}) {
    ASSERT_LE(h.size(), kMaxV1Size);
    auto r = parse_text(h + "payload");
    ASSERT_EQ(r.status, Status::complete) << h;
    EXPECT_EQ(r.consumed, h.size());
    EXPECT_TRUE(r.header.local);
    EXPECT_FALSE(r.header.source);
    expect_every_prefix_incomplete(h);
  }
}

TEST(ProxyProtocolV1, WorstCaseOf107BytesIsAcceptedAnd108IsNot) {
  std::string h = "PROXY UNKNOWN " + std::string(91, 'f') + "\r\n";
  ASSERT_EQ(h.size(), 107u);
  EXPECT_EQ(parse_text(h).status, Status::complete);
  std::string longer = "PROXY UNKNOWN " + std::string(92, 'f') + "\r\n";
  auto r = parse_text(longer);
  EXPECT_EQ(r.status, Status::invalid);
  // 107 bytes in and still no CRLF: invalid, without waiting for more.
  EXPECT_EQ(parse_text(longer.substr(0, 107)).status, Status::invalid);
  EXPECT_EQ(parse_text(longer.substr(0, 106)).status, Status::incomplete);
}

TEST(ProxyProtocolV1, RefusesEveryMalformedShape) {
  const char* bad[] = {
      "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",       // double space
      "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",       // double space
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",       // trailing space
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",      // extra field
      "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",          // missing port
      "PROXY TCP4 1.2.3.4\r\n",                    // missing everything
      "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",        // lower case keyword
      "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",        // unknown keyword
      "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",        // unknown keyword
      "PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n",       // tab
      "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",       // leading zero in octet
      "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",      // octet > 255
      "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",          // three octets
      "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n",      // five octets
      "PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n",         // empty octet
      "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",            // IPv6 under TCP4
      "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",            // IPv4 under TCP6
      "PROXY TCP6 ::1 :::1 1 2\r\n",               // triple colon
      "PROXY TCP6 1::2::3 ::1 1 2\r\n",            // two double colons
      "PROXY TCP6 12345::1 ::1 1 2\r\n",           // five hex digits
      "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",       // zone index
      "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",  // nine groups
      "PROXY TCP6 ::ffff:01.2.3.4 ::1 1 2\r\n",    // leading zero in tail
      "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",       // leading zero in port
      "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",       // sign
      "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",       // sign
      "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",    // port too big
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 100000\r\n",   // port too long
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",          // LF alone
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",         // CR alone
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\r",        // reversed
      "PROXY UNKNOWN\n",                           // LF alone
      "PROXY UNKNOWNX\r\n",                        // keyword run-on
      "PROXY UNKNOWN x\ry\r\n",                    // CR inside the ignored rest
      "PROXY UNKNOWN \x01\r\n",                    // control byte
      "PROXY \r\n",                                // nothing
      "PROXI TCP4 1.2.3.4 5.6.7.8 1 2\r\n",        // signature
      "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",        // signature (and not 'P')
  };
  for (const char* h : bad) {
    auto r = parse_text(h);
    EXPECT_EQ(r.status, Status::invalid) << h;
    EXPECT_STRNE(r.error, "") << h;
  }
}

TEST(ProxyProtocolV1, FailsAtTheFirstByteThatCannotLeadToAValidLine) {
  // Each of these is a prefix that no further bytes can make valid.
  for (const char* h : {"PROXX", "PROXY X", "PROXY TCP4 1.2.3.4x", "PROXY TCP4 256",
                        "PROXY TCP4 1.2.3.4 5.6.7.8 0", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ",
                        "PROXY TCP6 g", "PROXY TCP6 :1.", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r"}) {
    // "...0" is complete as a port; what makes it hopeless is the next digit.
    std::string s = h;
    if (s.ends_with(" 0")) s += "1";
    EXPECT_EQ(parse_text(s).status, Status::invalid) << s;
  }
}

// ------------------------------------------------------------------ not PROXY

TEST(ProxyProtocol, OtherProtocolsFailOnTheFirstByte) {
  const std::string client_hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  for (const std::string& s : {client_hello, std::string("GET / HTTP/1.1\r\n"),
                               std::string("SSH-2.0-OpenSSH"), std::string(1, '\0')}) {
    EXPECT_EQ(parse(bytes(s).subspan(0, 1)).status, Status::invalid);
    EXPECT_EQ(parse_text(s).status, Status::invalid);
  }
  EXPECT_EQ(parse({}).status, Status::incomplete);
  // Diverges from the v2 signature at its fifth byte.
  EXPECT_EQ(parse_text(std::string("\r\n\r\n\x01", 5)).status, Status::invalid);
  EXPECT_EQ(parse_text("\r\n\r\n").status, Status::incomplete);
}

// ------------------------------------------------------------------ v2

TEST(ProxyProtocolV2, ParsesTcp4AndStopsAtTheHeader) {
  const std::string h = v2(0x21, 0x11, kV4Block);
  auto r = parse_text(h + "payload");
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.consumed, 28u);
  EXPECT_EQ(r.header.version, 2);
  EXPECT_FALSE(r.header.local);
  EXPECT_EQ(r.header.source->to_string(), "192.0.2.1:12345");
  EXPECT_EQ(r.header.destination->to_string(), "198.51.100.7:443");
  EXPECT_TRUE(r.header.tlvs.empty());
  expect_every_prefix_incomplete(h);
}

TEST(ProxyProtocolV2, ParsesTcp6) {
  std::string block(36, '\0');
  block[0] = 0x20, block[1] = 0x01, block[2] = 0x0d, block[3] = static_cast<char>(0xb8);
  block[15] = 1;
  block[16] = 0x20, block[17] = 0x01, block[18] = 0x0d, block[19] = static_cast<char>(0xb8);
  block[31] = 2;
  block[32] = static_cast<char>(0xff), block[33] = static_cast<char>(0xff);
  block[34] = 0, block[35] = 80;
  auto r = parse_text(v2(0x21, 0x21, block));
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.header.source->to_string(), "[2001:db8::1]:65535");
  EXPECT_EQ(r.header.destination->to_string(), "[2001:db8::2]:80");
}

TEST(ProxyProtocolV2, LocalKeepsNoAddressesWhateverTheBlockSays) {
  auto r = parse_text(build_v2_local());
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.consumed, 16u);
  EXPECT_TRUE(r.header.local);
  EXPECT_FALSE(r.header.source);
  // LOCAL with an address block: the receiver must skip it (spec 2.2).
  r = parse_text(v2(0x20, 0x11, kV4Block));
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.consumed, 28u);
  EXPECT_TRUE(r.header.local);
  EXPECT_FALSE(r.header.source);
}

TEST(ProxyProtocolV2, UnspecUnixAndDatagramAreAcceptedWithoutAddresses) {
  struct Case {
    uint8_t fam;
    size_t block;
  };
  for (Case c : {Case{0x00, 0}, Case{0x31, 216}, Case{0x32, 216}, Case{0x12, 12}, Case{0x22, 36}}) {
    auto r = parse_text(v2(0x21, c.fam, std::string(c.block, '\x07')));
    ASSERT_EQ(r.status, Status::complete) << int(c.fam) << " " << r.error;
    EXPECT_EQ(r.consumed, 16 + c.block);
    EXPECT_TRUE(r.header.local);
    EXPECT_FALSE(r.header.source);
  }
}

TEST(ProxyProtocolV2, KeepsTlvsDropsNoopAndChecksSslSubTlvs) {
  const std::string ssl_value = std::string("\x01\x00\x00\x00\x00", 5) + tlv(0x21, "TLSv1.3") +
                                tlv(0x23, "TLS_AES_128_GCM_SHA256");
  const std::string body = kV4Block + tlv(kTlvAlpn, "h2") + tlv(kTlvNoop, "   ") +
                           tlv(kTlvAuthority, "example.org") + tlv(kTlvSsl, ssl_value) +
                           tlv(kTlvUniqueId, std::string(128, 'u')) + tlv(0xE0, "");
  const std::string h = v2(0x21, 0x11, body);
  auto r = parse_text(h);
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.consumed, h.size());
  ASSERT_EQ(r.header.tlvs.size(), 5u);
  EXPECT_EQ(r.header.tlvs[0].type, kTlvAlpn);
  EXPECT_EQ(r.header.tlvs[0].value, "h2");
  EXPECT_EQ(r.header.tlvs[1].value, "example.org");
  EXPECT_EQ(r.header.tlvs[2].type, kTlvSsl);
  EXPECT_EQ(r.header.tlvs[2].value, ssl_value);
  EXPECT_EQ(r.header.tlvs[3].value.size(), 128u);
  EXPECT_EQ(r.header.tlvs[4].type, 0xE0);
  EXPECT_EQ(r.header.tlvs[4].value, "");
  expect_every_prefix_incomplete(h);
}

TEST(ProxyProtocolV2, Crc32cMatchesTheKnownVectorAndIsVerified) {
  const std::string check = "123456789";
  EXPECT_EQ(crc32c(bytes(check)), 0xE3069283u);

  const std::string h =
      build_v2(addr("192.0.2.1", 1), addr("192.0.2.2", 2), std::vector<Tlv>{{kTlvAlpn, "x"}}, true);
  auto r = parse_text(h);
  ASSERT_EQ(r.status, Status::complete) << r.error;
  ASSERT_EQ(r.header.tlvs.size(), 2u);
  EXPECT_EQ(r.header.tlvs[1].type, kTlvCrc32c);
  expect_every_prefix_incomplete(h);

  // A flipped bit anywhere in the header, CRC field included, is caught
  // (a flip in the length waits for bytes that never come: not complete
  // either). The one exception is inherent: flipping the CRC TLV's own type
  // byte turns it into another TLV, and there is no CRC left to check.
  const size_t crc_type_at = h.size() - 7;
  for (size_t i = 0; i < h.size(); ++i) {
    if (i == crc_type_at) continue;
    std::string bad = h;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_NE(parse_text(bad).status, Status::complete) << "byte " << i;
  }
  std::string zeroed = h;
  zeroed.replace(zeroed.size() - 4, 4, std::string(4, '\0'));
  EXPECT_STREQ(parse_text(zeroed).error, "v2 CRC32C mismatch");
}

TEST(ProxyProtocolV2, RefusesEveryMalformedShape) {
  const std::string ok_tlv = tlv(kTlvAlpn, "h2");
  struct Case {
    const char* what;
    std::string header;
  };
  const Case cases[] =
      {
          {"version 1", v2(0x11, 0x11, kV4Block)},
          {"version 3", v2(0x31, 0x11, kV4Block)},
          {"command 2", v2(0x22, 0x11, kV4Block)},
          {"command 15", v2(0x2F, 0x11, kV4Block)},
          {"family 4", v2(0x21, 0x41, kV4Block)},
          {"transport 3", v2(0x21, 0x13, kV4Block)},
          {"unlisted inet/unspec", v2(0x21, 0x10, kV4Block)},
          {"unlisted unspec/stream", v2(0x21, 0x01, kV4Block)},
          {"block too short v4", v2(0x21, 0x11, kV4Block.substr(0, 11))},
          {"block too short v6", v2(0x21, 0x21, std::string(35, '\0'))},
          {"block too short unix", v2(0x21, 0x31, std::string(215, '\0'))},
          {"too long", v2(0x21, 0x11, kV4Block + tlv(kTlvNoop, std::string(kMaxHeaderSize, 'n')))},
          {"one stray byte", v2(0x21, 0x11, kV4Block + "\x01")},
          {"two stray bytes", v2(0x21, 0x11, kV4Block + std::string("\x01\x00", 2))},
          {"TLV overruns", v2(0x21, 0x11, kV4Block + ok_tlv.substr(0, 4))},
          {"TLV then stray", v2(0x21, 0x11, kV4Block + ok_tlv + "\x05")},
          {"CRC 3 bytes", v2(0x21, 0x11, kV4Block + tlv(kTlvCrc32c, "abc"))},
          {"CRC 5 bytes", v2(0x21, 0x11, kV4Block + tlv(kTlvCrc32c, "abcde"))},
          {"unique id 129", v2(0x21, 0x11, kV4Block + tlv(kTlvUniqueId, std::string(129, 'u')))},
          {"SSL too short", v2(0x21, 0x11, kV4Block + tlv(kTlvSsl, "\x01\x00\x00\x00"))},
          {"SSL sub-TLV overruns",
           v2(0x21, 0x11, kV4Block + tlv(kTlvSsl, std::string("\x01\0\0\0\0\x21\x00\x09zz", 10)))},
          {"too many TLVs", v2(
                                0x21, 0x11,
                                kV4Block +
                                    [] {
                                      std::string s;
                                      for (size_t i = 0; i <= kMaxTlvs; ++i) s += tlv(kTlvNoop, "");
                                      return s;
                                    }())},
      };
  for (const Case& c : cases) {
    auto r = parse_text(c.header);
    EXPECT_EQ(r.status, Status::invalid) << c.what;
    EXPECT_STRNE(r.error, "") << c.what;
  }
  // Two CRC TLVs, both correct for the header: still refused (ambiguous).
  std::string two =
      v2(0x21, 0x11,
         kV4Block + tlv(kTlvCrc32c, std::string(4, '\0')) + tlv(kTlvCrc32c, std::string(4, '\0')));
  EXPECT_STREQ(parse_text(two).error, "v2 duplicate CRC32C TLV");
}

TEST(ProxyProtocolV2, BadFixedFieldsFailBeforeTheRestArrives) {
  const std::string cases[] = {
      v2(0x11, 0x11, kV4Block).substr(0, 13),                          // version
      v2(0x23, 0x11, kV4Block).substr(0, 13),                          // command
      v2(0x21, 0x15, kV4Block).substr(0, 14),                          // family/transport
      v2(0x21, 0x11, kV4Block.substr(0, 8)).substr(0, 16),             // length < address block
      v2(0x21, 0x11, std::string(kMaxHeaderSize, 'x')).substr(0, 16),  // length too big
      // A TLV whose length runs past the header, before its value arrives.
      v2(0x21, 0x11, kV4Block + tlv(kTlvAlpn, "abcdef").substr(0, 3) + "ab").substr(0, 31),
  };
  for (const std::string& h : cases) {
    EXPECT_EQ(parse_text(h).status, Status::invalid) << h.size();
  }
}

TEST(ProxyProtocolV2, LargestAcceptedHeaderIsKMaxHeaderSize) {
  const size_t value = kMaxHeaderSize - 16 - 12 - 3;
  const std::string h = v2(0x21, 0x11, kV4Block + tlv(0xE1, std::string(value, 'v')));
  ASSERT_EQ(h.size(), kMaxHeaderSize);
  EXPECT_EQ(parse_text(h).status, Status::complete);
}

// ------------------------------------------------------------------ building

TEST(ProxyProtocolBuild, EmitsExactBytes) {
  EXPECT_EQ(build_v1(addr("192.0.2.1", 12345), addr("198.51.100.7", 443)),
            "PROXY TCP4 192.0.2.1 198.51.100.7 12345 443\r\n");
  EXPECT_EQ(build_v1(addr("2001:db8::1", 1), addr("2001:db8::2", 2)),
            "PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n");
  EXPECT_EQ(build_v1(addr("192.0.2.1", 1), addr("2001:db8::2", 2)),
            "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1 2\r\n");
  EXPECT_EQ(build_v1(SocketAddress{}, addr("192.0.2.1", 1)), "PROXY UNKNOWN\r\n");

  EXPECT_EQ(build_v2(addr("192.0.2.1", 12345), addr("198.51.100.7", 443)),
            v2(0x21, 0x11, kV4Block));
  EXPECT_EQ(build_v2_local(), v2(0x20, 0x00, ""));
  EXPECT_EQ(build_v2(SocketAddress{}, SocketAddress{}), v2(0x20, 0x00, ""));
  EXPECT_EQ(build_v2(addr("192.0.2.1", 1), addr("192.0.2.2", 2),
                     std::vector<Tlv>{{0xE0, std::string(0x10000, 'x')}}, false),
            "");
}

struct RoundTrip {
  const char* src;
  const char* dst;
  int expected_family;
};

class ProxyProtocolRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(ProxyProtocolRoundTrip, BuildThenParseGivesTheSameAddresses) {
  const RoundTrip& p = GetParam();
  const SocketAddress src = addr(p.src, 40000), dst = addr(p.dst, 443);
  for (const std::string& h : {build_v1(src, dst), build_v2(src, dst)}) {
    auto r = parse_text(h + "after");
    ASSERT_EQ(r.status, Status::complete) << r.error;
    EXPECT_EQ(r.consumed, h.size());
    ASSERT_TRUE(r.header.source && r.header.destination);
    EXPECT_EQ(r.header.source->family(), p.expected_family);
    EXPECT_EQ(r.header.source->unmapped(), src.unmapped());
    EXPECT_EQ(r.header.destination->unmapped(), dst.unmapped());
    if (p.expected_family == src.family()) {
      EXPECT_EQ(*r.header.source, src);
    }
    expect_every_prefix_incomplete(h);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Families, ProxyProtocolRoundTrip,
    ::testing::Values(RoundTrip{"192.0.2.1", "203.0.113.9", AF_INET},
                      RoundTrip{"255.255.255.255", "0.0.0.0", AF_INET},
                      RoundTrip{"2001:db8::1", "2001:db8:ffff::abcd", AF_INET6},
                      RoundTrip{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6},
                      RoundTrip{"192.0.2.1", "2001:db8::2", AF_INET6},
                      RoundTrip{"2001:db8::1", "192.0.2.2", AF_INET6}));

}  // namespace
}  // namespace ferry::net::proxy_protocol
