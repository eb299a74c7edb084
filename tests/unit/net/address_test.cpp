#include "net/address.h"

#include <gtest/gtest.h>

namespace ferry::net {
namespace {

TEST(HostPort, ParsesNamesV4AndBracketedV6) {
  EXPECT_EQ(HostPort::parse("g.whatsapp.net:5222"), (HostPort{"g.whatsapp.net", 5222}));
  EXPECT_EQ(HostPort::parse("127.0.0.1:8199"), (HostPort{"127.0.0.1", 8199}));
  EXPECT_EQ(HostPort::parse("[::]:443"), (HostPort{"::", 443}));
  EXPECT_EQ(HostPort::parse("[2001:db8::1]:80")->to_string(), "[2001:db8::1]:80");
}

TEST(HostPort, RefusesAmbiguousOrBrokenAddresses) {
  for (const char* bad :
       {"", ":80", "host", "host:", "host:0", "host:65536", "host:80x", "::1:80", "[::1]",
        "[::1]80", "[nothost]:80", "a b:80", "h/x:1", "%07:443", "[fe80::1%eth0]:80"}) {
    EXPECT_FALSE(HostPort::parse(bad).has_value()) << bad;
  }
}

TEST(SocketAddress, RoundTripsAndUnmapsV4MappedPeers) {
  auto a = SocketAddress::from_numeric("::ffff:192.0.2.7", 1234);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v6());
  SocketAddress u = a->unmapped();
  EXPECT_TRUE(u.is_v4());
  EXPECT_EQ(u.to_string(), "192.0.2.7:1234");
  EXPECT_EQ(u.ip_bytes().size(), 4u);
  auto b = SocketAddress::from_numeric("2001:db8::1", 80);
  EXPECT_EQ(b->to_string(), "[2001:db8::1]:80");
  EXPECT_EQ(b->unmapped(), *b);
  EXPECT_FALSE(SocketAddress::from_numeric("example.org", 80));
}

TEST(SocketAddress, AClientIsAnIPv4AddressOrAnIPv6Slash64) {
  auto net = [](const char* ip) { return SocketAddress::from_numeric(ip, 1)->client_network(); };
  EXPECT_EQ(net("192.0.2.7"), std::string("\xc0\x00\x02\x07", 4));
  EXPECT_EQ(net("::ffff:192.0.2.7"), net("192.0.2.7"));
  EXPECT_EQ(net("2001:db8:1:2::1"), net("2001:db8:1:2:ffff::9"));
  EXPECT_NE(net("2001:db8:1:2::1"), net("2001:db8:1:3::1"));
  EXPECT_EQ(net("2001:db8:1:2::1").size(), 8u);
}

}  // namespace
}  // namespace ferry::net
