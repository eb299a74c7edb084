// Prekeys and the bundle wire format.
#include "crypto/prekeys.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace ferry::crypto {
namespace {

PrekeyBundle make_bundle(const IdentityKeyPair& id, bool with_opk) {
  auto spk = generate_signed_prekey(id, 7);
  PrekeyBundle b{id.public_key(), spk.public_part(), std::nullopt};
  if (with_opk) b.one_time_prekey = generate_one_time_prekeys(100, 1)[0].public_part();
  return b;
}

TEST(Prekeys, SignedPrekeyVerifies) {
  auto id = IdentityKeyPair::generate();
  auto spk = generate_signed_prekey(id, 42);
  EXPECT_TRUE(verify_signed_prekey(id.public_key(), spk.public_part()));
  auto wrong_id = spk.public_part();
  wrong_id.id = 43;  // the id is signed too
  EXPECT_EQ(verify_signed_prekey(id.public_key(), wrong_id).code(), Errc::auth_failed);
  EXPECT_FALSE(verify_signed_prekey(IdentityKeyPair::generate().public_key(), spk.public_part()));
}

TEST(Prekeys, PrivateHalvesRoundTrip) {
  auto id = IdentityKeyPair::generate();
  auto spk = generate_signed_prekey(id, 9);
  auto back = SignedPrekeyPair::deserialize(view(spk.serialize()));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, 9u);
  EXPECT_EQ(back->key.public_key, spk.key.public_key);
  EXPECT_EQ(back->signature, spk.signature);
  auto opks = generate_one_time_prekeys(0xFFFFFFFF, 3);
  ASSERT_EQ(opks.size(), 3u);
  EXPECT_EQ(opks[1].id, 0u);  // ids wrap
  auto o = OneTimePrekeyPair::deserialize(view(opks[2].serialize()));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->key.public_key, opks[2].key.public_key);
  SecretBytes s = opks[0].serialize();
  EXPECT_FALSE(OneTimePrekeyPair::deserialize(ByteView(view(s)).first(s.size() - 1)));
  s.push_back(0);
  EXPECT_FALSE(OneTimePrekeyPair::deserialize(view(s)));
  EXPECT_FALSE(SignedPrekeyPair::deserialize(Bytes{}));
}

TEST(Bundle, EncodeDecodeRoundTrip) {
  auto id = IdentityKeyPair::generate();
  for (bool with_opk : {false, true}) {
    PrekeyBundle b = make_bundle(id, with_opk);
    Bytes wire = b.encode();
    EXPECT_EQ(wire.size(), with_opk ? 170u : 134u);
    auto back = PrekeyBundle::decode(wire);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->identity, b.identity);
    EXPECT_EQ(back->signed_prekey.public_key, b.signed_prekey.public_key);
    EXPECT_EQ(back->signed_prekey.signature, b.signed_prekey.signature);
    EXPECT_EQ(back->one_time_prekey.has_value(), with_opk);
    EXPECT_TRUE(back->verify());
    EXPECT_EQ(back->encode(), wire);
  }
}

TEST(Bundle, DecodeIsStrict) {
  auto id = IdentityKeyPair::generate();
  Bytes wire = make_bundle(id, true).encode();
  for (size_t len = 0; len < wire.size(); ++len) {
    EXPECT_FALSE(PrekeyBundle::decode(ByteView(wire).first(len))) << len;
  }
  Bytes longer = wire;
  longer.push_back(0);
  EXPECT_EQ(PrekeyBundle::decode(longer).code(), Errc::malformed);
  Bytes v2 = wire;
  v2[0] = 2;
  EXPECT_EQ(PrekeyBundle::decode(v2).code(), Errc::unsupported);
  Bytes flags = wire;
  flags[1] = 0x03;
  EXPECT_EQ(PrekeyBundle::decode(flags).code(), Errc::malformed);
  Bytes no_opk_flag = wire;
  no_opk_flag[1] = 0;  // then 36 trailing bytes
  EXPECT_EQ(PrekeyBundle::decode(no_opk_flag).code(), Errc::malformed);
  Bytes bad_identity = wire;
  std::fill(bad_identity.begin() + 2, bad_identity.begin() + 34, 0);
  EXPECT_EQ(PrekeyBundle::decode(bad_identity).code(), Errc::bad_key);
}

TEST(Bundle, TamperedSignatureOrKeyFailsVerification) {
  auto id = IdentityKeyPair::generate();
  Bytes wire = make_bundle(id, false).encode();
  for (size_t i = 34; i < wire.size(); ++i) {  // spk id, key and signature
    Bytes bad = wire;
    bad[i] ^= 0x20;
    auto b = PrekeyBundle::decode(bad);
    ASSERT_TRUE(b) << i;
    EXPECT_EQ(b->verify().code(), Errc::auth_failed) << i;
  }
}

}  // namespace
}  // namespace ferry::crypto
