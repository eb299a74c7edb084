// Every plaintext the client encrypts is a multiple of 64 bytes, whatever
// the text's length: the ciphertext's length shows no more than that.
#include "chat/client/content_padding.h"

#include <gtest/gtest.h>

namespace ferry::chat::client {
namespace {

TEST(ContentPadding, EveryTextLengthSerializesToAMultipleOf64) {
  // 0..300 covers every remainder several times, and lengths whose own
  // length prefix grows from one byte to two (128).
  for (size_t n = 0; n <= 300; ++n) {
    pb::Content c;
    c.set_sent_at_ms(1'765'000'000'000);
    c.mutable_text()->set_text(std::string(n, 'x'));
    pad_content(c);
    EXPECT_EQ(c.ByteSizeLong() % kContentBlock, 0u) << "text of " << n << " bytes";
    EXPECT_GE(c.padding().size(), 1u);
    EXPECT_LE(c.padding().size(), kContentBlock);
    EXPECT_EQ(c.padding().find_first_not_of('\0'), std::string::npos);
  }
}

TEST(ContentPadding, PaddingAgainReplacesTheOldPadding) {
  pb::Content c;
  c.mutable_text()->set_text("hi");
  pad_content(c);
  const size_t once = c.ByteSizeLong();
  pad_content(c);
  EXPECT_EQ(c.ByteSizeLong(), once);
}

}  // namespace
}  // namespace ferry::chat::client
