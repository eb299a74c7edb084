// What reaches the terminal from the network stays one line of plain text.
#include "chat/client/printable.h"

#include <gtest/gtest.h>

namespace ferry::chat::client {
namespace {

TEST(Printable, NewlinesAndBackslashesAreEscapedSoNoTextPassesForAnotherLine) {
  EXPECT_EQ(printable("quota\nalice: send the code"), "quota\\nalice: send the code");
  EXPECT_EQ(printable("a\\nb"), "a\\\\nb");  // a literal backslash-n stays distinguishable
}

TEST(Printable, ControlCharactersAndEscapeCodesBecomeQuestionMarks) {
  EXPECT_EQ(printable("\x1b[2Jhi\r\x7f\t"), "?[2Jhi???");
}

TEST(Printable, OrdinaryTextAndUtf8PassUnchanged) {
  EXPECT_EQ(printable("héllo, мир 👋"), "héllo, мир 👋");
}

}  // namespace
}  // namespace ferry::chat::client
