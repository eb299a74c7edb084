// Identity keys: Ed25519 signing and the X25519 pairing, safety numbers.
#include "crypto/keys.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>

#include "test_util.h"

namespace ferry::crypto {
namespace {

TEST(Identity, SignAndVerify) {
  auto id = IdentityKeyPair::generate();
  Signature sig = id.sign(as_bytes("message"));
  EXPECT_TRUE(id.public_key().verify(as_bytes("message"), sig));
  EXPECT_EQ(id.public_key().verify(as_bytes("messagE"), sig).code(), Errc::auth_failed);
  sig[10] ^= 1;
  EXPECT_EQ(id.public_key().verify(as_bytes("message"), sig).code(), Errc::auth_failed);
  EXPECT_EQ(id.public_key().verify(as_bytes("message"), Bytes(63, 0)).code(), Errc::auth_failed);
  auto other = IdentityKeyPair::generate();
  EXPECT_FALSE(other.public_key().verify(as_bytes("message"), id.sign(as_bytes("message"))));
}

TEST(Identity, X25519PairingMatchesOnBothSides) {
  for (int i = 0; i < 20; ++i) {
    auto a = IdentityKeyPair::generate(), b = IdentityKeyPair::generate();
    // The public X25519 key computed from the Ed25519 public key is the one
    // that belongs to the X25519 private key derived from the Ed25519 secret.
    EXPECT_TRUE(ct_equal(a.agreement().public_key, a.public_key().x25519()));
    auto ab = dh(a.agreement(), b.public_key().x25519());
    auto ba = dh(b.agreement(), a.public_key().x25519());
    ASSERT_TRUE(ab && ba);
    EXPECT_TRUE(ct_equal(view(*ab), view(*ba)));
  }
}

TEST(Identity, ConversionIsLibsodiumsDocumentedMap) {
  auto seed = test::hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto id = IdentityKeyPair::from_seed(seed);
  ASSERT_TRUE(id);
  // RFC 8032 test 1 public key for this seed.
  EXPECT_EQ(to_hex(id->public_key().bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  uint8_t x[32];
  ASSERT_EQ(crypto_sign_ed25519_pk_to_curve25519(x, id->public_key().bytes().data()), 0);
  EXPECT_EQ(to_hex(ByteView(x, 32)), to_hex(id->public_key().x25519()));
  // And the RFC 8032 signature of the empty message.
  EXPECT_EQ(to_hex(id->sign({})),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39"
            "701cf9b46b"
            "d25bf5f0595bbe24655141438e7a100b");
}

TEST(Identity, SerializeRoundTrip) {
  auto id = IdentityKeyPair::generate();
  SecretBytes bytes = id.serialize();
  ASSERT_EQ(bytes.size(), 33u);
  auto back = IdentityKeyPair::deserialize(view(bytes));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->public_key(), id.public_key());
  EXPECT_TRUE(back->public_key().verify(as_bytes("x"), id.sign(as_bytes("x"))));
  EXPECT_EQ(IdentityKeyPair::deserialize(ByteView(bytes).first(32)).code(), Errc::malformed);
  bytes[0] = 2;
  EXPECT_EQ(IdentityKeyPair::deserialize(view(bytes)).code(), Errc::unsupported);
}

TEST(Identity, InvalidPublicKeysAreRefused) {
  EXPECT_EQ(IdentityPublicKey::from_bytes(Bytes(31, 1)).code(), Errc::bad_key);
  EXPECT_EQ(IdentityPublicKey::from_bytes(Bytes(32, 0)).code(), Errc::bad_key);  // small order
  Bytes identity_point(32, 0);
  identity_point[0] = 1;  // the neutral element
  EXPECT_EQ(IdentityPublicKey::from_bytes(identity_point).code(), Errc::bad_key);
  Bytes noncanonical(32, 0xff);  // y >= p
  noncanonical[31] = 0x7f;
  EXPECT_EQ(IdentityPublicKey::from_bytes(noncanonical).code(), Errc::bad_key);
}

TEST(SafetyNumber, SymmetricStableAndDistinct) {
  auto a = IdentityKeyPair::generate(), b = IdentityKeyPair::generate(),
       c = IdentityKeyPair::generate();
  std::string ab = safety_number(a.public_key(), b.public_key());
  EXPECT_EQ(ab.size(), 60u);
  EXPECT_TRUE(std::all_of(ab.begin(), ab.end(), [](char ch) { return ch >= '0' && ch <= '9'; }));
  EXPECT_EQ(ab, safety_number(b.public_key(), a.public_key()));
  EXPECT_EQ(ab, safety_number(a.public_key(), b.public_key()));
  EXPECT_NE(ab, safety_number(a.public_key(), c.public_key()));
  EXPECT_NE(ab, safety_number(c.public_key(), b.public_key()));
  std::string shown = format_safety_number(ab);
  EXPECT_EQ(shown.size(), 60u + 11u);
  EXPECT_EQ(shown[5], ' ');
}

TEST(SafetyNumber, FixedKeysGiveAFixedNumber) {
  // Pins the algorithm in docs/protocol.md: a change here breaks every user's
  // comparison, so it must be deliberate.
  auto a = IdentityKeyPair::from_seed(Bytes(32, 1));
  auto b = IdentityKeyPair::from_seed(Bytes(32, 2));
  ASSERT_TRUE(a && b);
  std::string n = safety_number(a->public_key(), b->public_key());
  EXPECT_EQ(n, safety_number(b->public_key(), a->public_key()));
  // Computed independently (Python hashlib + cryptography) from the documented steps.
  EXPECT_EQ(n, "333010734019310896992254408518854033485657629566659493049164");
}

}  // namespace
}  // namespace ferry::crypto
