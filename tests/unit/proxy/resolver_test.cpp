// Resolver::resolve turns an upstream's name into addresses to dial. Numeric
// names keep these tests off the network: getaddrinfo answers them itself.
#include "proxy/resolver.h"

#include <gtest/gtest.h>

namespace ferry::proxy {
namespace {

TEST(Resolver, GivesTheAddressesWithTheUpstreamsPort) {
  AddressList out;
  std::string error;
  ASSERT_TRUE(Resolver::resolve({"127.0.0.1", 5222}, out, error)) << error;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to_string(), "127.0.0.1:5222");
}

// AI_ADDRCONFIG: a host with no IPv6 address gets no IPv6 answers at all.
bool host_has_ipv6() {
  AddressList out;
  std::string error;
  return Resolver::resolve({"2001:db8::1", 443}, out, error);
}

TEST(Resolver, AnUnspecifiedAnswerIsRefusedAndNamed) {
  // Linux dials 0.0.0.0 and :: as loopback, and a censor's resolver answers
  // 0.0.0.0 for a blocked name: the operator must see which it was.
  for (const char* name : {"0.0.0.0", "::", "::ffff:0.0.0.0"}) {
    if (std::string_view(name).find(':') != std::string_view::npos && !host_has_ipv6()) continue;
    AddressList out;
    std::string error;
    EXPECT_FALSE(Resolver::resolve({name, 443}, out, error)) << name;
    EXPECT_TRUE(out.empty()) << name;
    EXPECT_NE(error.find("unspecified address"), std::string::npos) << name << ": " << error;
  }
}

}  // namespace
}  // namespace ferry::proxy
