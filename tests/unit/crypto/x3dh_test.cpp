// X3DH: both sides derive the same secret and associated data.
#include "crypto/x3dh.h"

#include <gtest/gtest.h>

#include "crypto/kdf.h"
#include "test_util.h"

namespace ferry::crypto {
namespace {

struct Bob {
  IdentityKeyPair id = IdentityKeyPair::generate();
  SignedPrekeyPair spk = generate_signed_prekey(id, 1);
  OneTimePrekeyPair opk = generate_one_time_prekeys(5, 1)[0];
  PrekeyBundle bundle(bool with_opk) const {
    PrekeyBundle b{id.public_key(), spk.public_part(), std::nullopt};
    if (with_opk) b.one_time_prekey = opk.public_part();
    return b;
  }
};

TEST(X3dh, BothSidesAgreeWithAndWithoutOneTimePrekey) {
  auto alice = IdentityKeyPair::generate();
  Bob bob;
  for (bool with_opk : {false, true}) {
    auto a = x3dh_initiate(alice, bob.bundle(with_opk));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->one_time_prekey_id.has_value(), with_opk);
    auto b = x3dh_respond(bob.id, bob.spk, with_opk ? &bob.opk : nullptr, alice.public_key(),
                          a->ephemeral_public);
    ASSERT_TRUE(b);
    EXPECT_TRUE(a->shared_key.ct_equals(b->shared_key));
    EXPECT_EQ(a->associated_data, b->associated_data);
    ASSERT_EQ(a->associated_data.size(), kAssociatedDataLen);
    EXPECT_TRUE(std::equal(alice.public_key().bytes().begin(), alice.public_key().bytes().end(),
                           a->associated_data.begin()));
    // Leaving out the one-time prekey on one side gives a different secret.
    auto c = x3dh_respond(bob.id, bob.spk, with_opk ? nullptr : &bob.opk, alice.public_key(),
                          a->ephemeral_public);
    ASSERT_TRUE(c);
    EXPECT_FALSE(a->shared_key.ct_equals(c->shared_key));
  }
}

TEST(X3dh, MatchesTheSpecifiedComputation) {
  // SK = HKDF(32 zero bytes, 0xFF*32 || DH1 || DH2 || DH3, info) recomputed by hand.
  auto alice = IdentityKeyPair::generate();
  Bob bob;
  DhKeyPair ek = dh_generate(DhKind::x25519);
  auto a = x3dh_initiate(alice, bob.bundle(false), ek);
  ASSERT_TRUE(a);
  auto dh1 = dh(alice.agreement(), bob.spk.key.public_key);
  auto dh2 = dh(ek, bob.id.public_key().x25519());
  auto dh3 = dh(ek, bob.spk.key.public_key);
  ASSERT_TRUE(dh1 && dh2 && dh3);
  Bytes ikm(32, 0xFF);
  for (auto* d : {&*dh1, &*dh2, &*dh3}) ikm.insert(ikm.end(), d->begin(), d->end());
  uint8_t sk[32];
  hkdf_sha256(Bytes(32, 0), ikm, as_bytes("Ferry_X3DH_25519_SHA256"), sk, 32);
  EXPECT_EQ(to_hex(a->shared_key.view()), to_hex(ByteView(sk, 32)));
}

TEST(X3dh, BadSignatureIsRefusedBeforeUse) {
  auto alice = IdentityKeyPair::generate();
  Bob bob;
  PrekeyBundle b = bob.bundle(true);
  b.signed_prekey.signature[0] ^= 1;
  EXPECT_EQ(x3dh_initiate(alice, b).code(), Errc::auth_failed);
  // A signed prekey signed by someone else (a server swapping keys).
  PrekeyBundle swapped = bob.bundle(true);
  swapped.signed_prekey = generate_signed_prekey(IdentityKeyPair::generate(), 1).public_part();
  EXPECT_EQ(x3dh_initiate(alice, swapped).code(), Errc::auth_failed);
}

TEST(X3dh, WrongIdentityGivesAnotherSecret) {
  auto alice = IdentityKeyPair::generate(), mallory = IdentityKeyPair::generate();
  Bob bob;
  auto a = x3dh_initiate(alice, bob.bundle(false));
  ASSERT_TRUE(a);
  auto b = x3dh_respond(bob.id, bob.spk, nullptr, mallory.public_key(), a->ephemeral_public);
  ASSERT_TRUE(b);
  EXPECT_FALSE(a->shared_key.ct_equals(b->shared_key));
  EXPECT_EQ(x3dh_respond(bob.id, bob.spk, nullptr, alice.public_key(), Bytes(32, 0)).code(),
            Errc::bad_key);
  EXPECT_EQ(x3dh_respond(bob.id, bob.spk, nullptr, alice.public_key(), Bytes(31, 1)).code(),
            Errc::bad_key);
}

}  // namespace
}  // namespace ferry::crypto
