#include "chat/wire/frame.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace ferry::chat::wire {
namespace {

std::span<const uint8_t> span_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string payload(size_t n, char fill) {
  return std::string(n, fill);
}

TEST(Frame, AppendWritesBigEndianLength) {
  std::string out;
  std::string body = payload(300, 'x');
  ASSERT_TRUE(append_frame(out, span_of(body)));
  ASSERT_EQ(out.size(), 302u);
  EXPECT_EQ(static_cast<uint8_t>(out[0]), 0x01);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 0x2c);
  EXPECT_EQ(out.substr(2), body);
}

TEST(Frame, AppendRefusesEmptyAndOversized) {
  std::string out;
  EXPECT_FALSE(append_frame(out, {}));
  std::string big(kMaxFrame + 1, 'a');
  EXPECT_FALSE(append_frame(out, span_of(big)));
  EXPECT_TRUE(out.empty());
  std::string max(kMaxFrame, 'a');
  EXPECT_TRUE(append_frame(out, span_of(max)));
}

TEST(Frame, WholeFramesComeBackWithoutCopy) {
  std::string stream;
  append_frame(stream, span_of(payload(5, 'a')));
  append_frame(stream, span_of(payload(7, 'b')));
  FrameDecoder d;
  auto in = span_of(stream);
  auto r1 = d.next(in);
  ASSERT_EQ(r1.status, FrameDecoder::Status::frame);
  EXPECT_EQ(std::string(r1.frame.begin(), r1.frame.end()), "aaaaa");
  EXPECT_EQ(r1.frame.data(), reinterpret_cast<const uint8_t*>(stream.data()) + 2);
  auto r2 = d.next(in);
  ASSERT_EQ(r2.status, FrameDecoder::Status::frame);
  EXPECT_EQ(std::string(r2.frame.begin(), r2.frame.end()), "bbbbbbb");
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(d.next(in).status, FrameDecoder::Status::need_more);
  EXPECT_EQ(d.partial_bytes(), 0u);
}

TEST(Frame, ByteByByteGivesTheSameFrames) {
  std::string stream;
  std::vector<std::string> sent;
  for (size_t n : {1u, 2u, 255u, 256u, 1000u}) {
    sent.push_back(payload(n, static_cast<char>('a' + n % 26)));
    append_frame(stream, span_of(sent.back()));
  }
  FrameDecoder d;
  std::vector<std::string> got;
  for (char c : stream) {
    std::string one(1, c);
    auto in = span_of(one);
    auto r = d.next(in);
    ASSERT_NE(r.status, FrameDecoder::Status::error);
    if (r.status == FrameDecoder::Status::frame) got.emplace_back(r.frame.begin(), r.frame.end());
    EXPECT_TRUE(in.empty());
  }
  EXPECT_EQ(got, sent);
  EXPECT_EQ(d.partial_bytes(), 0u);
}

TEST(Frame, RandomChunkingPreservesFrames) {
  std::mt19937 rng(7);
  std::string stream;
  std::vector<std::string> sent;
  for (int i = 0; i < 200; ++i) {
    size_t n = 1 + rng() % 3000;
    sent.push_back(std::string(n, static_cast<char>(rng())));
    append_frame(stream, span_of(sent.back()));
  }
  FrameDecoder d;
  std::vector<std::string> got;
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t n = std::min<size_t>(1 + rng() % 5000, stream.size() - pos);
    std::string chunk = stream.substr(pos, n);
    pos += n;
    auto in = span_of(chunk);
    for (int guard = 0; guard < 10000; ++guard) {
      auto r = d.next(in);
      ASSERT_NE(r.status, FrameDecoder::Status::error);
      if (r.status == FrameDecoder::Status::need_more) break;
      got.emplace_back(r.frame.begin(), r.frame.end());
    }
  }
  EXPECT_EQ(got, sent);
}

TEST(Frame, ZeroLengthIsAnErrorAndSticks) {
  std::string stream("\x00\x00\x00\x01x", 5);
  FrameDecoder d;
  auto in = span_of(stream);
  auto r = d.next(in);
  EXPECT_EQ(r.status, FrameDecoder::Status::error);
  EXPECT_STREQ(r.error, "empty frame");
  EXPECT_TRUE(d.failed());
  std::string good("\x00\x01x", 3);
  auto in2 = span_of(good);
  EXPECT_EQ(d.next(in2).status, FrameDecoder::Status::error);
}

TEST(Frame, LengthAboveTheLimitIsRefusedBeforeTheBody) {
  FrameDecoder d(1024);
  std::string header("\x04\x01", 2);  // 1025
  auto in = span_of(header);
  auto r = d.next(in);
  EXPECT_EQ(r.status, FrameDecoder::Status::error);
  EXPECT_STREQ(r.error, "frame too large");
  EXPECT_EQ(d.partial_bytes(), 0u);
}

TEST(Frame, SplitHeaderIsCheckedToo) {
  FrameDecoder d(100);
  std::string a("\x00", 1), b("\xff", 1);
  auto in = span_of(a);
  EXPECT_EQ(d.next(in).status, FrameDecoder::Status::need_more);
  auto in2 = span_of(b);
  EXPECT_EQ(d.next(in2).status, FrameDecoder::Status::error);
}

TEST(Frame, PartialFrameIsHeldThenReleased) {
  std::string stream;
  append_frame(stream, span_of(payload(1000, 'q')));
  FrameDecoder d;
  std::string first = stream.substr(0, 500), rest = stream.substr(500);
  auto in = span_of(first);
  EXPECT_EQ(d.next(in).status, FrameDecoder::Status::need_more);
  EXPECT_EQ(d.partial_bytes(), 500u);
  auto in2 = span_of(rest);
  auto r = d.next(in2);
  ASSERT_EQ(r.status, FrameDecoder::Status::frame);
  EXPECT_EQ(r.frame.size(), 1000u);
  std::string none;
  auto in3 = span_of(none);
  EXPECT_EQ(d.next(in3).status, FrameDecoder::Status::need_more);
  EXPECT_EQ(d.partial_bytes(), 0u);
}

}  // namespace
}  // namespace ferry::chat::wire
