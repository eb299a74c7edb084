#include "common/duration.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("250ms"), Millis(250));
  EXPECT_EQ(parse_duration("5s"), Millis(5000));
  EXPECT_EQ(parse_duration("2m"), Millis(120000));
  EXPECT_EQ(parse_duration("1h"), Millis(3600000));
  EXPECT_EQ(parse_duration("0s"), Millis(0));
}

TEST(Duration, RefusesWhatIsNotADuration) {
  for (const char* bad : {"", "5", "s", "-5s", "1.5s", "5 s", "5sec", "5S", " 5s", "5s ",
                          "99999999999999999999s", "100000000h"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Duration, FormatsTheShortestExactSpelling) {
  EXPECT_EQ(format_duration(Millis(30000)), "30s");
  EXPECT_EQ(format_duration(Millis(1500)), "1500ms");
  EXPECT_EQ(format_duration(Millis(120000)), "2m");
  EXPECT_EQ(format_duration(Millis(7200000)), "2h");
  EXPECT_EQ(format_duration(Millis(0)), "0ms");
  for (int64_t ms : {1, 999, 1000, 61000, 3600000, 5400000}) {
    EXPECT_EQ(parse_duration(format_duration(Millis(ms))), Millis(ms));
  }
}

}  // namespace
}  // namespace ferry
