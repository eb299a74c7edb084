#include "chat/proto/messages.h"

#include <gtest/gtest.h>

namespace ferry::chat {
namespace {

std::string bytes_of(const pb::Request& r) {
  std::string s;
  append_serialized(r, s);
  return s;
}

Decoded decode(const std::string& s, pb::Request& out, const char*& why) {
  return decode_request({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, out, why);
}

TEST(Usernames, Rules) {
  EXPECT_TRUE(valid_username("alice"));
  EXPECT_TRUE(valid_username("bob_2.x-y"));
  EXPECT_TRUE(valid_username("0"));
  EXPECT_TRUE(valid_username(std::string(32, 'a')));
  EXPECT_FALSE(valid_username(""));
  EXPECT_FALSE(valid_username(std::string(33, 'a')));
  EXPECT_FALSE(valid_username("Alice"));
  EXPECT_FALSE(valid_username("_alice"));
  EXPECT_FALSE(valid_username("al ice"));
  EXPECT_FALSE(valid_username("al\xc3\xa9"));
}

TEST(DecodeRequest, AcceptsAWellFormedSend) {
  pb::Request r;
  r.set_id(7);
  r.mutable_send()->set_recipient("bob");
  r.mutable_send()->set_client_id(42);
  r.mutable_send()->set_content("opaque");
  pb::Request out;
  const char* why = "";
  EXPECT_EQ(decode(bytes_of(r), out, why), Decoded::ok) << why;
  EXPECT_EQ(out.send().content(), "opaque");
}

TEST(DecodeRequest, GarbageIdZeroAndNoBodyAreMalformed) {
  pb::Request out;
  const char* why = "";
  EXPECT_EQ(decode(std::string("\xff\xff\xff\xff\xff", 5), out, why), Decoded::malformed);
  pb::Request r;
  r.mutable_ping();
  EXPECT_EQ(decode(bytes_of(r), out, why), Decoded::malformed);
  EXPECT_STREQ(why, "request id 0");
  pb::Request none;
  none.set_id(1);
  EXPECT_EQ(decode(bytes_of(none), out, why), Decoded::malformed);
}

TEST(DecodeRequest, OutOfRangeFieldsAreBadRequests) {
  pb::Request out;
  const char* why = "";
  pb::Request r;
  r.set_id(1);
  r.mutable_send()->set_recipient("Bob");
  r.mutable_send()->set_content("x");
  EXPECT_EQ(decode(bytes_of(r), out, why), Decoded::bad_request);

  r.mutable_send()->set_recipient("bob");
  r.mutable_send()->set_content(std::string(kMaxContent + 1, 'x'));
  EXPECT_EQ(decode(bytes_of(r), out, why), Decoded::bad_request);

  pb::Request ack;
  ack.set_id(2);
  ack.mutable_ack();
  EXPECT_EQ(decode(bytes_of(ack), out, why), Decoded::bad_request);
  for (size_t i = 0; i <= kMaxAcksPerRequest; ++i) ack.mutable_ack()->add_envelope_ids(i);
  EXPECT_EQ(decode(bytes_of(ack), out, why), Decoded::bad_request);

  pb::Request up;
  up.set_id(3);
  up.mutable_upload_prekeys();
  EXPECT_EQ(decode(bytes_of(up), out, why), Decoded::bad_request);

  pb::Request reg;
  reg.set_id(4);
  reg.mutable_register_()->set_username("alice");
  reg.mutable_register_()->set_identity_key(std::string(32, 'k'));
  EXPECT_EQ(decode(bytes_of(reg), out, why), Decoded::bad_request);  // no signature
  reg.mutable_register_()->set_signature(std::string(64, 's'));
  EXPECT_EQ(decode(bytes_of(reg), out, why), Decoded::ok) << why;
}

TEST(RegistrationMessage, BindsLoginAndName) {
  auto a = registration_message(std::string(32, 'a'), "alice");
  EXPECT_EQ(a.substr(0, 13), "FerryRegister");
  EXPECT_EQ(a[13], '\x01');
  EXPECT_NE(a, registration_message(std::string(32, 'b'), "alice"));
  EXPECT_NE(a, registration_message(std::string(32, 'a'), "alicf"));
}

}  // namespace
}  // namespace ferry::chat
