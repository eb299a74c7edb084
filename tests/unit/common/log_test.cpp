#include "common/log.h"

#include <gtest/gtest.h>

namespace ferry::log {
namespace {

TEST(Log, FormatsOneLogfmtLine) {
  std::string line = format_line(Level::info, "listener_started",
                                 {{"listen", "[::]:443"}, {"tls", true}, {"n", 3}});
  EXPECT_NE(line.find(" level=info event=listener_started listen=[::]:443 tls=true n=3"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.rfind("ts=", 0), 0u);
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(Log, QuotesAndEscapesValuesSoALineStaysOneLine) {
  std::string line = format_line(Level::warn, "x", {{"msg", "a b\n\"c\"=\x01"}});
  EXPECT_NE(line.find(R"(msg="a b\n\"c\"=\x01")"), std::string::npos) << line;
  EXPECT_NE(format_line(Level::warn, "x", {{"empty", ""}}).find("empty=\"\""), std::string::npos);
}

TEST(Log, ReportsSuppressedLines) {
  EXPECT_NE(format_line(Level::info, "x", {}, 7).find(" suppressed=7"), std::string::npos);
}

TEST(Log, ParsesLevels) {
  Level l = Level::info;
  EXPECT_TRUE(parse_level("debug", l));
  EXPECT_EQ(l, Level::debug);
  EXPECT_FALSE(parse_level("verbose", l));
}

}  // namespace
}  // namespace ferry::log
