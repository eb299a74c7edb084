#include "chat/server/limits.h"

#include <gtest/gtest.h>

namespace ferry::chat::server {
namespace {

TEST(TokenBucket, BurstThenRate) {
  TokenBucket b(3, 1000);
  EXPECT_TRUE(b.take(10, 3, 1000));
  EXPECT_TRUE(b.take(10, 3, 1000));
  EXPECT_TRUE(b.take(10, 3, 1000));
  EXPECT_FALSE(b.take(10, 3, 1000));
  EXPECT_FALSE(b.take(10, 3, 1050));  // half a token
  EXPECT_TRUE(b.take(10, 3, 1100));   // one token after 100 ms at 10/s
  EXPECT_FALSE(b.full(10, 3, 1100));
  EXPECT_TRUE(b.full(10, 3, 1400));
}

TEST(IpTable, ConcurrentCapPerAddress) {
  IpTable t(2, 0);
  EXPECT_EQ(t.admit("a", 0), IpTable::Verdict::ok);
  EXPECT_EQ(t.admit("a", 0), IpTable::Verdict::ok);
  EXPECT_EQ(t.admit("a", 0), IpTable::Verdict::too_many);
  EXPECT_EQ(t.admit("b", 0), IpTable::Verdict::ok);
  t.release("a", 0);
  EXPECT_EQ(t.admit("a", 0), IpTable::Verdict::ok);
  EXPECT_EQ(t.connections("a"), 2u);
}

TEST(IpTable, NewConnectionRateAndForgetting) {
  IpTable t(0, 1);  // one per second, bursts of two
  EXPECT_EQ(t.admit("a", 0), IpTable::Verdict::ok);
  EXPECT_EQ(t.admit("a", 0), IpTable::Verdict::ok);
  EXPECT_EQ(t.admit("a", 0), IpTable::Verdict::too_fast);
  EXPECT_EQ(t.admit("a", 1000), IpTable::Verdict::ok);
  t.release("a", 1000);
  t.release("a", 1000);
  t.release("a", 1000);
  EXPECT_EQ(t.tracked(), 1u);  // budget not yet back to full
  t.sweep(5000);
  EXPECT_EQ(t.tracked(), 0u);
}

TEST(IpTable, RegistrationsPerHourOutliveTheConnections) {
  IpTable t(0, 0, 2);  // two an hour, bursts of two
  EXPECT_EQ(t.admit("a", 0), IpTable::Verdict::ok);
  EXPECT_TRUE(t.take_registration("a", 0));
  EXPECT_TRUE(t.take_registration("a", 0));
  EXPECT_FALSE(t.take_registration("a", 0));
  EXPECT_TRUE(t.take_registration("b", 0)) << "another address has its own";
  // Reconnecting does not reset it: the address is remembered until its
  // bucket is full again.
  t.release("a", 1000);
  t.sweep(1000);
  EXPECT_EQ(t.connections("a"), 0u);
  EXPECT_FALSE(t.take_registration("a", 1000));
  EXPECT_TRUE(t.take_registration("a", 1800 * 1000 + 1));  // one back after half an hour
  t.sweep(4 * 3600 * 1000);
  EXPECT_EQ(t.tracked(), 0u);
}

TEST(IpTable, UnlimitedTracksOnlyLiveAddresses) {
  IpTable t(0, 0);
  EXPECT_EQ(t.admit("a", 0), IpTable::Verdict::ok);
  t.release("a", 0);
  EXPECT_EQ(t.tracked(), 0u);
}

TEST(AccountBudget, EachAccountHasItsOwnHourlyBucket) {
  AccountBudget b(2);  // two an hour, bursts of two
  EXPECT_TRUE(b.take(1, 0));
  EXPECT_TRUE(b.take(1, 0));
  EXPECT_FALSE(b.take(1, 0));
  EXPECT_TRUE(b.take(2, 0)) << "another account has its own";
  b.sweep(1000);
  EXPECT_EQ(b.tracked(), 2u) << "spent buckets are remembered";
  EXPECT_FALSE(b.take(1, 1000));
  EXPECT_TRUE(b.take(1, 1800 * 1000 + 1));  // one back after half an hour
  b.sweep(4 * 3600 * 1000);
  EXPECT_EQ(b.tracked(), 0u);
}

TEST(PrekeyGrants, OnePerFetcherAndTargetAnHour) {
  PrekeyGrants g(1);
  const uint64_t hour = uint64_t{3600} * 1000;
  EXPECT_TRUE(g.take("1/bob", 0));
  EXPECT_FALSE(g.take("1/bob", 1000)) << "the same pair within the hour";
  EXPECT_TRUE(g.take("1/carol", 1000)) << "another target";
  EXPECT_TRUE(g.take("2/bob", 1000)) << "another fetcher";
  EXPECT_FALSE(g.take("1/bob", hour - 1));
  EXPECT_TRUE(g.take("1/bob", hour));
  g.sweep(hour + 1000);
  EXPECT_EQ(g.tracked(), 1u) << "only the one spent at the hour's end is left";
  g.sweep(3 * hour);
  EXPECT_EQ(g.tracked(), 0u);
}

TEST(AccountBudget, ZeroMeansUnlimitedAndTracksNothing) {
  AccountBudget b(0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(b.take(1, 0));
  EXPECT_EQ(b.tracked(), 0u);
}

}  // namespace
}  // namespace ferry::chat::server
