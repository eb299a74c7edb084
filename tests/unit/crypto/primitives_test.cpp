// Known-answer tests for the primitives the protocols are built from, plus the
// properties the protocols rely on (tamper detection, low-order rejection).
#include <gtest/gtest.h>

#include "crypto/kdf.h"
#include "crypto/primitives/aead.h"
#include "crypto/primitives/aes_cbc.h"
#include "crypto/primitives/dh.h"
#include "crypto/primitives/hash.h"
#include "test_util.h"

namespace ferry::crypto {
namespace {
using test::hex;

TEST(Dh, X25519MatchesRfc7748) {
  auto alice = dh_keypair_from_private(
      DhKind::x25519, hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  ASSERT_TRUE(alice);
  EXPECT_EQ(to_hex(alice->public_key),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  auto shared = dh(*alice, hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
  ASSERT_TRUE(shared);
  EXPECT_EQ(to_hex(view(*shared)),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

TEST(Dh, BothSidesAgreeOnBothCurves) {
  for (DhKind kind : {DhKind::x25519, DhKind::x448}) {
    DhKeyPair a = dh_generate(kind), b = dh_generate(kind);
    EXPECT_EQ(a.public_key.size(), dh_len(kind));
    auto ab = dh(a, b.public_key), ba = dh(b, a.public_key);
    ASSERT_TRUE(ab && ba);
    EXPECT_TRUE(ct_equal(view(*ab), view(*ba)));
  }
}

TEST(Dh, RejectsLowOrderAndWrongLengthKeys) {
  for (DhKind kind : {DhKind::x25519, DhKind::x448}) {
    DhKeyPair a = dh_generate(kind);
    Bytes zero(dh_len(kind), 0);
    Bytes one(dh_len(kind), 0);
    one[0] = 1;
    EXPECT_EQ(dh(a, zero).code(), Errc::bad_key);
    EXPECT_EQ(dh(a, one).code(), Errc::bad_key);
    EXPECT_EQ(dh(a, Bytes(dh_len(kind) - 1, 9)).code(), Errc::bad_key);
    EXPECT_EQ(dh_keypair_from_private(kind, Bytes(3, 1)).code(), Errc::invalid_argument);
  }
}

TEST(Hash, KnownAnswers) {
  struct Case {
    HashKind kind;
    const char* digest;
  } cases[] = {
      {HashKind::sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {HashKind::sha512,
       "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3f"
       "eebbd"
       "454d4423643ce80e2a9ac94fa54ca49f"},
      {HashKind::blake2s, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"},
      {HashKind::blake2b,
       "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de453"
       "3cc95"
       "18d38aa8dbf1925ab92386edd4009923"},
  };
  for (const auto& c : cases) {
    uint8_t out[kMaxHashLen];
    // Split input: the parts are hashed as one message.
    hash_parts(c.kind, {as_bytes("a"), as_bytes(""), as_bytes("bc")}, out);
    EXPECT_EQ(to_hex(ByteView(out, hash_len(c.kind))), c.digest);
  }
}

TEST(Kdf, HkdfSha256MatchesRfc5869Case1) {
  Bytes ikm(22, 0x0b);
  uint8_t okm[42];
  hkdf_sha256(hex("000102030405060708090a0b0c"), ikm, hex("f0f1f2f3f4f5f6f7f8f9"), okm, sizeof okm);
  EXPECT_EQ(to_hex(ByteView(okm, sizeof okm)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Kdf, HmacSha256MatchesRfc4231Case1) {
  uint8_t mac[32];
  hmac_sha256(Bytes(20, 0x0b), as_bytes("Hi There"), mac);
  EXPECT_EQ(to_hex(ByteView(mac, 32)),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Kdf, NoiseHkdfIsRfc5869WithEmptyInfo) {
  // Noise's HKDF(ck, ikm, 2) for SHA256 is HKDF-SHA256(salt = ck, info = "").
  Bytes ck(32, 7), ikm{'i', 'n', 'p'};
  uint8_t a[64], b[64];
  noise_hkdf(HashKind::sha256, ck, ikm, 2, a);
  hkdf_sha256(ck, ikm, {}, b, 64);
  EXPECT_EQ(to_hex(ByteView(a, 64)), to_hex(ByteView(b, 64)));
}

TEST(Aead, RoundTripAndTamperDetection) {
  for (CipherKind kind : {CipherKind::chachapoly, CipherKind::aesgcm}) {
    Bytes key(32, 0x42), ad = {1, 2, 3}, pt = {'h', 'e', 'l', 'l', 'o'};
    Bytes ct;
    ASSERT_TRUE(aead_encrypt(kind, key, 5, ad, pt, ct));
    ASSERT_EQ(ct.size(), pt.size() + kAeadTagLen);
    Bytes out;
    ASSERT_TRUE(aead_decrypt(kind, key, 5, ad, ct, out));
    EXPECT_EQ(out, pt);
    for (size_t i = 0; i < ct.size(); ++i) {
      Bytes bad = ct;
      bad[i] ^= 0x01;
      Bytes junk;
      EXPECT_EQ(aead_decrypt(kind, key, 5, ad, bad, junk).code(), Errc::auth_failed);
      EXPECT_TRUE(junk.empty());
    }
    Bytes junk;
    EXPECT_EQ(aead_decrypt(kind, key, 6, ad, ct, junk).code(), Errc::auth_failed);
    EXPECT_EQ(aead_decrypt(kind, key, 5, Bytes{1, 2}, ct, junk).code(), Errc::auth_failed);
    EXPECT_EQ(aead_decrypt(kind, key, 5, ad, Bytes(15, 0), junk).code(), Errc::auth_failed);
    EXPECT_EQ(aead_encrypt(kind, Bytes(31, 0), 0, ad, pt, junk).code(), Errc::invalid_argument);
  }
}

TEST(AesCbc, RoundTripAndPadding) {
  Bytes key(32, 1), iv(16, 2);
  for (size_t len : {0u, 1u, 15u, 16u, 17u, 100u}) {
    Bytes pt(len, 0x5a);
    auto ct = aes256_cbc_encrypt(key, iv, pt);
    ASSERT_TRUE(ct);
    EXPECT_EQ(ct->size(), (len / 16 + 1) * 16);
    auto back = aes256_cbc_decrypt(key, iv, *ct);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, pt);
  }
  EXPECT_EQ(aes256_cbc_decrypt(key, iv, Bytes(15, 0)).code(), Errc::malformed);
  EXPECT_EQ(aes256_cbc_decrypt(key, iv, Bytes{}).code(), Errc::malformed);
}

}  // namespace
}  // namespace ferry::crypto
