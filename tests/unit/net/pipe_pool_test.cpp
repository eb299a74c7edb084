#include "net/pipe_pool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

namespace ferry::net {
namespace {

TEST(PipePool, LendsAtMostMaxLentPipesAndReusesWhatComesBack) {
  PipePool pool(size_t{64} * 1024, /*max_idle=*/2, /*max_lent=*/3);
  std::vector<Pipe*> lent;
  for (int i = 0; i < 3; ++i) {
    lent.push_back(pool.acquire());
    ASSERT_NE(lent.back(), nullptr);
  }
  EXPECT_EQ(pool.acquire(), nullptr) << "a fourth pipe past max_lent";
  EXPECT_EQ(pool.lent(), 3u);

  Pipe* back = lent.back();
  lent.pop_back();
  pool.release(back);
  EXPECT_EQ(pool.idle(), 1u);
  Pipe* again = pool.acquire();
  EXPECT_EQ(again, back) << "an idle pipe is reused";
  EXPECT_EQ(pool.acquire(), nullptr);

  // A pipe with bytes in it is closed, not reused, and frees its slot.
  ASSERT_EQ(::write(again->write_end.get(), "x", 1), 1);
  pool.discard(again);
  EXPECT_EQ(pool.idle(), 0u);
  Pipe* fresh = pool.acquire();
  ASSERT_NE(fresh, nullptr);
  lent.push_back(fresh);
  for (Pipe* p : lent) pool.release(p);
  EXPECT_EQ(pool.lent(), 0u);
  EXPECT_EQ(pool.idle(), 2u) << "at most max_idle are kept";
}

}  // namespace
}  // namespace ferry::net
