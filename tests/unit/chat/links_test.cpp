#include "chat/wire/links.h"

#include <gtest/gtest.h>

#include <vector>

namespace ferry::chat {
namespace {

TEST(Base64url, RoundTripsWithoutPadding) {
  for (const std::string& s :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", std::string(32, 0x7f)}) {
    auto enc = base64url_encode(s);
    EXPECT_EQ(enc.find('='), std::string::npos);
    EXPECT_EQ(enc.find('+'), std::string::npos);
    EXPECT_EQ(enc.find('/'), std::string::npos);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec);
    EXPECT_EQ(*dec, s);
  }
  EXPECT_FALSE(base64url_decode("ab+c"));
  EXPECT_FALSE(base64url_decode("a"));
  EXPECT_FALSE(base64url_decode("abc="));
  // One spelling per value: the unused low bits of the last character are 0.
  EXPECT_TRUE(base64url_decode("AA"));
  EXPECT_FALSE(base64url_decode("AB"));
  EXPECT_TRUE(base64url_decode("AAA"));
  EXPECT_FALSE(base64url_decode("AAB"));
}

// Regression (found by the links fuzz target): libsodium 1.0.18 reads every
// byte from 0x80 up as '_' (63), so a link with a non-ASCII byte in its key
// decoded to some key instead of being refused.
TEST(Base64url, RefusesEveryByteOutsideTheAlphabet) {
  for (int c = 0; c < 256; ++c) {
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_';
    std::string text = "AAA";
    text.push_back(static_cast<char>(c));
    EXPECT_EQ(base64url_decode(text).has_value(), alphabet) << "byte " << c;
  }
  std::string key = base64url_encode(std::string(32, '\x07'));
  key[10] = '\xdf';  // '_' with the top bit set
  std::string error;
  EXPECT_FALSE(ServerLink::parse("ferry://server?host=127.0.0.1&port=1&key=" + key, error));
  EXPECT_NE(error.find("key"), std::string::npos) << error;
}

TEST(ServerLink, RoundTrip) {
  ServerLink link{net::HostPort{"10.77.3.2", 7000}, std::string(32, '\x07')};
  std::string text = link.to_string();
  EXPECT_TRUE(text.starts_with("ferry://server?host=10.77.3.2&port=7000&key="));
  std::string error;
  auto back = ServerLink::parse(text, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->address, link.address);
  EXPECT_EQ(back->key, link.key);
}

TEST(ServerLink, Ipv6HostWithOrWithoutBrackets) {
  std::string error;
  ServerLink link{net::HostPort{"::1", 9}, std::string(32, 'k')};
  auto back = ServerLink::parse(link.to_string(), error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->address.host, "::1");
  auto escaped = ServerLink::parse("ferry://server?host=%5B%3A%3A1%5D&port=9", error);
  ASSERT_TRUE(escaped) << error;
  EXPECT_EQ(escaped->address.host, "::1");
  EXPECT_TRUE(escaped->key.empty());
}

TEST(ServerLink, RefusesBadLinks) {
  std::string error;
  EXPECT_FALSE(ServerLink::parse("http://server?host=a&port=1", error));
  EXPECT_FALSE(ServerLink::parse("ferry://server?port=1", error));
  EXPECT_EQ(error, "link has no host");
  EXPECT_FALSE(ServerLink::parse("ferry://server?host=a", error));
  EXPECT_FALSE(ServerLink::parse("ferry://server?host=a&port=0", error));
  EXPECT_FALSE(ServerLink::parse("ferry://server?host=a&port=1&key=abc", error));
  EXPECT_FALSE(ServerLink::parse("ferry://server?host=a&host=b&port=1", error));
  EXPECT_FALSE(ServerLink::parse("ferry://server?host=a&port=1&key", error));
  EXPECT_FALSE(ServerLink::parse("ferry://server?host=a%2&port=1", error));
}

TEST(ProxySpec, AllThreeForms) {
  std::string error;
  auto plain = ProxySpec::parse("127.0.0.1:5222", error);
  ASSERT_TRUE(plain) << error;
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->to_string(), "127.0.0.1:5222");

  auto tls = ProxySpec::parse("tls://proxy.example.org:443", error);
  ASSERT_TRUE(tls) << error;
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->address.host, "proxy.example.org");
  EXPECT_EQ(tls->to_string(), "tls://proxy.example.org:443");

  auto link = ProxySpec::parse("ferry://proxy?host=203.0.113.7&port=443&tls=1", error);
  ASSERT_TRUE(link) << error;
  EXPECT_TRUE(link->tls);
  EXPECT_EQ(link->address.port, 443);
  EXPECT_EQ(link->to_link(), "ferry://proxy?host=203.0.113.7&port=443&tls=1");

  auto v6 = ProxySpec::parse("tls://[::1]:8443", error);
  ASSERT_TRUE(v6) << error;
  EXPECT_EQ(v6->address.host, "::1");
  auto back = ProxySpec::parse(v6->to_link(), error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->address, v6->address);
  EXPECT_TRUE(back->tls);
}

TEST(ProxySpec, RefusesBadSpecs) {
  std::string error;
  EXPECT_FALSE(ProxySpec::parse("", error));
  EXPECT_FALSE(ProxySpec::parse("proxy", error));
  EXPECT_FALSE(ProxySpec::parse("tls://", error));
  EXPECT_FALSE(ProxySpec::parse("ferry://server?host=a&port=1", error));
  EXPECT_FALSE(ProxySpec::parse("ferry://proxy?host=a&port=1&tls=maybe", error));
  EXPECT_FALSE(ProxySpec::parse("ferry://proxy?port=1", error));
  EXPECT_FALSE(ProxySpec::parse("socks5://a:1", error));
  // Found by the links fuzz target: "%07" was a host, and to_link() spelled
  // it as host=%07, which reads back as the byte 0x07.
  EXPECT_FALSE(ProxySpec::parse("%07:443", error));
  EXPECT_FALSE(ProxySpec::parse("ferry://proxy?host=%2507&port=443", error));
}

}  // namespace
}  // namespace ferry::chat
