// End-to-end sessions: X3DH start, prekey messages, ratchet behaviour and the
// refusals that matter (wrong identity, replays, skipped-key bound).
#include "crypto/ratchet.h"

#include <gtest/gtest.h>

#include "crypto/ratchet_message.h"
#include "test_util.h"

namespace ferry::crypto {
namespace {

struct Party {
  IdentityKeyPair id = IdentityKeyPair::generate();
  SignedPrekeyPair spk = generate_signed_prekey(id, 11);
  OneTimePrekeyPair opk = generate_one_time_prekeys(500, 1)[0];
  PrekeyBundle bundle(bool with_opk = true) const {
    PrekeyBundle b{id.public_key(), spk.public_part(), std::nullopt};
    if (with_opk) b.one_time_prekey = opk.public_part();
    return b;
  }
};

Bytes text(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

struct Started {
  RatchetSession alice;
  RatchetSession bob;
};

Started start(Party& a, Party& b, bool with_opk = true) {
  auto alice = RatchetSession::initiate(a.id, b.bundle(with_opk));
  if (!alice) std::abort();
  auto first = alice->encrypt(text("hello bob"));
  if (!first) std::abort();
  auto bob = RatchetSession::accept(b.id, b.spk, with_opk ? &b.opk : nullptr, *first);
  if (!bob || bob->plaintext != text("hello bob")) std::abort();
  return {std::move(*alice), std::move(bob->session)};
}

TEST(Ratchet, PrekeyMessagesUntilTheFirstReply) {
  Party a, b;
  auto alice = RatchetSession::initiate(a.id, b.bundle());
  ASSERT_TRUE(alice);
  EXPECT_TRUE(alice->awaiting_reply());
  auto m1 = alice->encrypt(text("one"));
  auto m2 = alice->encrypt(text("two"));
  ASSERT_TRUE(m1 && m2);
  EXPECT_EQ(*peek_message_type(*m1), RatchetMessageType::prekey);
  auto info = parse_prekey_message(*m2);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->sender_identity, a.id.public_key());
  EXPECT_EQ(info->signed_prekey_id, 11u);
  EXPECT_EQ(info->one_time_prekey_id, 500u);

  // Bob starts from the second message; the first still decrypts afterwards.
  auto bob = RatchetSession::accept(b.id, b.spk, &b.opk, *m2);
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->plaintext, text("two"));
  RatchetSession& bs = bob->session;
  EXPECT_EQ(bs.remote_identity(), a.id.public_key());
  auto p1 = bs.decrypt(*m1);
  ASSERT_TRUE(p1);
  EXPECT_EQ(*p1, text("one"));

  auto reply = bs.encrypt(text("hi alice"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(*peek_message_type(*reply), RatchetMessageType::normal);
  auto got = alice->decrypt(*reply);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, text("hi alice"));
  EXPECT_FALSE(alice->awaiting_reply());
  auto m3 = alice->encrypt(text("three"));
  ASSERT_TRUE(m3);
  EXPECT_EQ(*peek_message_type(*m3), RatchetMessageType::normal);
  EXPECT_TRUE(bs.decrypt(*m3));
}

TEST(Ratchet, AMessageOnTheSignedPrekeyBeforeAnyReplyIsRefused) {
  // Before bob's first reply alice's remote ratchet key is bob's signed
  // prekey, with no receiving chain yet. A "normal" message naming that key
  // (anyone can: the prekey is public) needs no DH step, and there is no
  // chain to take its key from: it must be refused, not opened with
  // whatever the absent chain key's storage held (it was accepted, forged
  // by a server that knew those bytes).
  Party a, b;
  auto alice = RatchetSession::initiate(a.id, b.bundle());
  ASSERT_TRUE(alice);
  auto first = alice->encrypt(text("hello bob"));
  ASSERT_TRUE(first);
  Bytes forged =
      ratchet_wire::encode_normal_body(b.spk.public_part().public_key, 0, 0, Bytes(16, 0));
  forged.resize(forged.size() + ratchet_wire::kMacLen, 0);
  auto opened = alice->decrypt(forged);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.code(), Errc::auth_failed);
  EXPECT_TRUE(alice->awaiting_reply()) << "a refused message changed the session";

  // The real reply still opens, and the session goes on.
  auto bob = RatchetSession::accept(b.id, b.spk, &b.opk, *first);
  ASSERT_TRUE(bob);
  auto reply = bob->session.encrypt(text("hi alice"));
  ASSERT_TRUE(reply);
  auto got = alice->decrypt(*reply);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, text("hi alice"));
}

TEST(Ratchet, WorksWithoutOneTimePrekey) {
  Party a, b;
  Started s = start(a, b, false);
  auto r = s.bob.encrypt(text("x"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(s.alice.decrypt(*r));
}

TEST(Ratchet, AcceptNeedsTheNamedKeys) {
  Party a, b;
  auto alice = RatchetSession::initiate(a.id, b.bundle(true));
  auto m = alice->encrypt(text("x"));
  ASSERT_TRUE(m);
  EXPECT_EQ(RatchetSession::accept(b.id, b.spk, nullptr, *m).code(), Errc::invalid_argument);
  auto other_spk = generate_signed_prekey(b.id, 12);
  EXPECT_EQ(RatchetSession::accept(b.id, other_spk, &b.opk, *m).code(), Errc::invalid_argument);
  // Right ids, wrong private keys: authentication fails.
  auto wrong_opk = generate_one_time_prekeys(500, 1)[0];
  EXPECT_EQ(RatchetSession::accept(b.id, b.spk, &wrong_opk, *m).code(), Errc::auth_failed);
  auto normal = RatchetSession::accept(b.id, b.spk, &b.opk, Bytes{1, 1, 0});
  EXPECT_FALSE(normal);
}

TEST(Ratchet, WrongIdentityIsRefused) {
  Party a, b, mallory;
  auto alice = RatchetSession::initiate(a.id, b.bundle());
  auto m = alice->encrypt(text("secret"));
  ASSERT_TRUE(m);
  // Received by someone holding another identity key (same prekeys).
  EXPECT_EQ(RatchetSession::accept(mallory.id, b.spk, &b.opk, *m).code(), Errc::auth_failed);
  // Claiming to come from another sender: the identity is bound by DH1 and AD.
  Bytes forged = *m;
  auto mk = mallory.id.public_key().bytes();
  std::copy(mk.begin(), mk.end(), forged.begin() + 3);
  EXPECT_EQ(RatchetSession::accept(b.id, b.spk, &b.opk, forged).code(), Errc::auth_failed);
  // A message from a session with someone else.
  Party c;
  Started other = start(c, b);
  auto stray = other.alice.encrypt(text("?"));
  Started s = start(a, b);
  ASSERT_TRUE(stray);
  EXPECT_FALSE(s.bob.decrypt(*stray));
}

TEST(Ratchet, ANonCanonicalBaseKeyIsRefused) {
  // X25519 ignores bit 255 of EK_A: a prekey message with it flipped would
  // derive the same keys, so it must be refused by its encoding (it was
  // accepted before: RatchetProperty found it, FERRY_TEST_SEED=16639029018540889000).
  Party a, b;
  auto alice = RatchetSession::initiate(a.id, b.bundle());
  auto m = alice->encrypt(text("hello"));
  ASSERT_TRUE(m);
  constexpr size_t kBaseKeyLastByte = 3 + 32 + 31;
  Bytes flipped = *m;
  flipped[kBaseKeyLastByte] ^= 0x80;
  EXPECT_EQ(RatchetSession::accept(b.id, b.spk, &b.opk, flipped).code(), Errc::malformed);
  EXPECT_EQ(parse_prekey_message(flipped).code(), Errc::malformed);
  auto bob = RatchetSession::accept(b.id, b.spk, &b.opk, *m);
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->plaintext, text("hello"));
}

TEST(Keys, CanonicalX25519IsBelowP) {
  PublicKey k{};
  EXPECT_TRUE(is_canonical_x25519(k));
  k.fill(0xff);
  k[31] = 0x7f;
  k[0] = 0xec;  // p - 1
  EXPECT_TRUE(is_canonical_x25519(k));
  k[0] = 0xed;  // p itself encodes 0
  EXPECT_FALSE(is_canonical_x25519(k));
  k[31] = 0xff;  // bit 255
  k[0] = 0;
  EXPECT_FALSE(is_canonical_x25519(k));
}

TEST(Ratchet, DuplicatesAreRefused) {
  Party a, b;
  Started s = start(a, b);
  auto m = s.bob.encrypt(text("once"));
  ASSERT_TRUE(m);
  ASSERT_TRUE(s.alice.decrypt(*m));
  EXPECT_EQ(s.alice.decrypt(*m).code(), Errc::replayed);
  // A skipped key is also used once only.
  auto m1 = s.bob.encrypt(text("1"));
  auto m2 = s.bob.encrypt(text("2"));
  ASSERT_TRUE(m1 && m2);
  ASSERT_TRUE(s.alice.decrypt(*m2));
  EXPECT_EQ(s.alice.skipped_key_count(), 1u);
  ASSERT_TRUE(s.alice.decrypt(*m1));
  EXPECT_EQ(s.alice.skipped_key_count(), 0u);
  EXPECT_EQ(s.alice.decrypt(*m1).code(), Errc::replayed);
}

TEST(Ratchet, SkippedKeyBoundIs2000) {
  Party a, b;
  Started s = start(a, b);
  std::vector<Bytes> msgs;
  for (uint32_t i = 0; i <= kMaxSkippedKeys + 1; ++i) msgs.push_back(*s.alice.encrypt(text("m")));
  SecretBytes before = s.bob.serialize();
  // msgs[2001] would skip 2001 keys: refused, and nothing changed.
  EXPECT_EQ(s.bob.decrypt(msgs[kMaxSkippedKeys + 1]).code(), Errc::too_many_skipped);
  EXPECT_EQ(s.bob.serialize(), before);
  // msgs[2000] skips exactly 2000: accepted, and those keys are kept.
  ASSERT_TRUE(s.bob.decrypt(msgs[kMaxSkippedKeys]));
  EXPECT_EQ(s.bob.skipped_key_count(), kMaxSkippedKeys);
  ASSERT_TRUE(s.bob.decrypt(msgs[0]));
  ASSERT_TRUE(s.bob.decrypt(msgs[kMaxSkippedKeys + 1]));
  // A new chain that skips more pushes out the oldest skipped keys.
  auto reply = s.bob.encrypt(text("r"));
  ASSERT_TRUE(s.alice.decrypt(*reply));
  std::vector<Bytes> next;
  for (int i = 0; i < 11; ++i) next.push_back(*s.alice.encrypt(text("n")));
  ASSERT_TRUE(s.bob.decrypt(next[10]));
  EXPECT_EQ(s.bob.skipped_key_count(), kMaxSkippedKeys);
  EXPECT_EQ(s.bob.decrypt(msgs[1]).code(), Errc::replayed);  // evicted
  EXPECT_TRUE(s.bob.decrypt(msgs[1999]));                    // still kept
  EXPECT_TRUE(s.bob.decrypt(next[0]));
}

TEST(Ratchet, MessageLayoutMatchesTheDocs) {
  Party a, b;
  Started s = start(a, b);
  auto m = s.bob.encrypt(Bytes(20, 0x61));
  ASSERT_TRUE(m);
  // version, type, ratchet key, PN, N, 32 bytes of AES-CBC, 32-byte MAC.
  ASSERT_EQ(m->size(), 2u + 32 + 4 + 4 + 32 + 32);
  EXPECT_EQ((*m)[0], kRatchetVersion);
  EXPECT_EQ((*m)[1], 0x01);
  auto d = ratchet_wire::decode_normal(*m);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->n, 0u);
  EXPECT_EQ(d->ciphertext.size(), 32u);
}

TEST(Ratchet, MalformedInputOfEveryLengthIsAnError) {
  Party a, b;
  Started s = start(a, b);
  auto m = s.alice.encrypt(text("payload"));
  ASSERT_TRUE(m);
  for (size_t len = 0; len < m->size(); ++len) {
    EXPECT_FALSE(s.bob.decrypt(ByteView(*m).first(len))) << len;
  }
  Bytes garbage(200, 0x01);
  EXPECT_FALSE(s.bob.decrypt(garbage));
  EXPECT_TRUE(s.bob.decrypt(*m));
}

TEST(Ratchet, LargePlaintextBound) {
  Party a, b;
  Started s = start(a, b);
  EXPECT_EQ(s.alice.encrypt(Bytes(kMaxRatchetPlaintext + 1, 0)).code(), Errc::too_large);
  auto big = s.alice.encrypt(Bytes(kMaxRatchetPlaintext, 7));
  ASSERT_TRUE(big);
  auto back = s.bob.decrypt(*big);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->size(), kMaxRatchetPlaintext);
}

TEST(RatchetState, SerializeRoundTripAndStrictDecode) {
  Party a, b;
  Started s = start(a, b);
  for (int i = 0; i < 3; ++i) s.alice.encrypt(text("skip me")).value();
  auto later = s.alice.encrypt(text("later"));
  ASSERT_TRUE(s.bob.decrypt(*later));  // leaves 3 skipped keys
  SecretBytes bytes = s.bob.serialize();
  auto back = RatchetSession::deserialize(view(bytes));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->serialize(), bytes);
  EXPECT_EQ(back->skipped_key_count(), 3u);
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_FALSE(RatchetSession::deserialize(ByteView(view(bytes)).first(len))) << len;
  }
  SecretBytes longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(RatchetSession::deserialize(view(longer)));
  SecretBytes bad_flags = bytes;
  bad_flags[1] |= 0x80;
  EXPECT_FALSE(RatchetSession::deserialize(view(bad_flags)));
  SecretBytes bad_format = bytes;
  bad_format[0] = 9;
  EXPECT_EQ(RatchetSession::deserialize(view(bad_format)).code(), Errc::unsupported);
}

}  // namespace
}  // namespace ferry::crypto
