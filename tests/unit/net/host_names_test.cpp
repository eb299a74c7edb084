#include "net/host_names.h"

#include <gtest/gtest.h>

namespace ferry::net {
namespace {

TEST(HostNames, NumericAddressesWithoutBracketsPortOrZone) {
  for (const char* ok : {"127.0.0.1", "203.0.113.7", "::1", "2001:db8::7", "::ffff:10.0.0.1"})
    EXPECT_TRUE(is_ip_literal(ok)) << ok;
  for (const char* bad : {"", "[::1]", "10.0.0.1:80", "fe80::1%eth0", "256.1.1.1", "10.1", "a"})
    EXPECT_FALSE(is_ip_literal(bad)) << bad;
}

TEST(HostNames, DnsNamesOfLabelsNotEndingAllNumeric) {
  for (const char* ok : {"g.whatsapp.net", "proxy-1.example.org", "a_b.example", "localhost"})
    EXPECT_TRUE(is_dns_name(ok)) << ok;
  for (const char* bad : {"", "a..b", ".a", "a.", "-a.org", "a-.org", "a&b", "a b", "%07", "10.1",
                          "1.2.3.4", "*.example.org"})
    EXPECT_FALSE(is_dns_name(bad)) << bad;
  EXPECT_TRUE(is_dns_name("*.example.org", true));
  EXPECT_TRUE(is_dns_name(std::string(63, 'a') + ".org"));
  EXPECT_FALSE(is_dns_name(std::string(64, 'a') + ".org"));
  EXPECT_FALSE(is_dns_name(std::string(250, 'a') + ".org"));
}

}  // namespace
}  // namespace ferry::net
