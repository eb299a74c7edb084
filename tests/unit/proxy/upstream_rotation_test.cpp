// The round robin offers each server once per connection, also where its
// 32-bit counter wraps (once every 2^32 connections).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <set>

#include "proxy/metrics.h"
#include "proxy/upstream.h"

namespace ferry::proxy {
namespace {

UpstreamConfig three_servers() {
  UpstreamConfig c;
  c.name = "up";
  for (const char* s : {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"})
    c.servers.push_back(*net::HostPort::parse(s));
  c.health_check_interval = Millis{0};
  return c;
}

std::set<ServerState*> offered(UpstreamState& up, uint32_t start) {
  std::set<ServerState*> seen;
  uint32_t attempt = 0;
  for (int i = 0; i < 10; ++i) {  // bounded: at most 3 are offered
    ServerState* s = up.candidate(start, attempt);
    if (s == nullptr) break;
    seen.insert(s);
  }
  return seen;
}

TEST(UpstreamRotation, EveryServerIsOfferedOnceWhereverTheCounterStands) {
  Metrics metrics(1);
  UpstreamState up(three_servers(), metrics);
  constexpr uint32_t kMax = std::numeric_limits<uint32_t>::max();
  for (uint32_t start : {uint32_t{0}, uint32_t{1}, kMax - 2, kMax - 1, kMax})
    EXPECT_EQ(offered(up, start).size(), 3u) << "start " << start;
}

}  // namespace
}  // namespace ferry::proxy
