// The generic engine beyond the fixed vectors: every pattern and suite with
// fresh random keys, the spec's failure rules, rekey and nonce exhaustion.
#include <gtest/gtest.h>

#include <algorithm>

#include "crypto/noise/handshake_state.h"
#include "crypto/noise/pattern.h"
#include "crypto/noise/protocol.h"
#include "test_util.h"

namespace ferry::crypto::noise {
namespace {

struct Pair {
  HandshakeState init;
  HandshakeState resp;
};

// Keys for whatever the pattern needs; both parties get what they should know.
Pair make_pair(const Protocol& p, ByteView prologue_i = {}, ByteView prologue_r = {}) {
  DhKeyPair si = dh_generate(p.dh), sr = dh_generate(p.dh);
  HandshakeConfig ci, cr;
  ci.role = Role::initiator;
  cr.role = Role::responder;
  ci.prologue.assign(prologue_i.begin(), prologue_i.end());
  cr.prologue.assign(prologue_r.begin(), prologue_r.end());
  ci.s = si;
  cr.s = sr;
  ci.rs = sr.public_key;
  cr.rs = si.public_key;
  size_t n = p.legacy_psk ? 1 : p.pattern.psk_count();
  for (size_t i = 0; i < n; ++i) {
    ci.psks.push_back(SecretBytes(32, static_cast<uint8_t>(i)));
    cr.psks.push_back(SecretBytes(32, static_cast<uint8_t>(i)));
  }
  auto a = HandshakeState::create(p, std::move(ci));
  auto b = HandshakeState::create(p, std::move(cr));
  if (!a || !b) std::abort();
  return {std::move(*a), std::move(*b)};
}

// Runs the handshake; returns false on any error.
bool run(Pair& pr, test::Seeded& rnd) {
  for (int guard = 0; guard < 8 && !(pr.init.is_complete() && pr.resp.is_complete()); ++guard) {
    HandshakeState& w = pr.init.needs_write() ? pr.init : pr.resp;
    HandshakeState& r = &w == &pr.init ? pr.resp : pr.init;
    Bytes payload = rnd.bytes(rnd.below(64));
    auto msg = w.write_message(payload);
    if (!msg) return false;
    auto got = r.read_message(*msg);
    if (!got || *got != payload) return false;
  }
  return pr.init.is_complete() && pr.resp.is_complete();
}

TEST(NoisePattern, EveryBasePatternParsesAndValidates) {
  auto names = base_pattern_names();
  EXPECT_EQ(names.size(), 3u + 12u + 23u);  // one-way, fundamental, deferred
  for (auto name : names) {
    auto p = pattern_from_name(name);
    ASSERT_TRUE(p) << name;
    EXPECT_TRUE(validate_pattern(*p)) << name;
  }
}

TEST(NoisePattern, ModifiersTransformTheData) {
  auto xxf = pattern_from_name("XXfallback");
  ASSERT_TRUE(xxf);
  EXPECT_TRUE(xxf->initiator_premessage.empty());
  EXPECT_EQ(xxf->responder_premessage, std::vector<Token>{Token::e});
  ASSERT_EQ(xxf->messages.size(), 2u);
  EXPECT_EQ(xxf->messages[0], (std::vector<Token>{Token::e, Token::ee, Token::s, Token::se}));
  EXPECT_EQ(xxf->messages[1], (std::vector<Token>{Token::s, Token::es}));

  auto nn = pattern_from_name("NNpsk0+psk2");
  ASSERT_TRUE(nn);
  EXPECT_TRUE(nn->psk_mode);
  EXPECT_EQ(nn->messages[0].front(), Token::psk);
  EXPECT_EQ(nn->messages[1].back(), Token::psk);
  EXPECT_EQ(nn->psk_count(), 2u);

  for (const char* bad : {"XY", "XXpsk9", "XXfoo", "XX+", "XXpsk0+psk0", "NKfallback", "Nfallback",
                          "", "xx", "XXpsk"}) {
    EXPECT_FALSE(pattern_from_name(bad)) << bad;
  }
}

TEST(NoisePattern, ValidatorCatchesBrokenPatterns) {
  HandshakePattern p;
  p.messages = {{Token::e, Token::es}};  // no responder static known
  EXPECT_FALSE(validate_pattern(p));
  p.messages = {{Token::e, Token::e}};
  EXPECT_FALSE(validate_pattern(p));
  p.messages = {{Token::e}, {Token::e, Token::ee, Token::ee}};
  EXPECT_FALSE(validate_pattern(p));
  p.messages = {{Token::psk, Token::s}, {Token::e, Token::ee}};  // encrypts before its e
  EXPECT_FALSE(validate_pattern(p));
}

TEST(NoiseProtocol, NameParsing) {
  auto p = parse_protocol("Noise_XXfallback+psk0_448_AESGCM_BLAKE2b");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->dh, DhKind::x448);
  EXPECT_EQ(p->cipher, CipherKind::aesgcm);
  EXPECT_EQ(p->hash, HashKind::blake2b);
  EXPECT_EQ(parse_protocol("Noise_XX_25519_ChaChaPoly").code(), Errc::malformed);
  EXPECT_EQ(parse_protocol("Noise_XX_25519_ChaChaPoly_SHA256_x").code(), Errc::malformed);
  EXPECT_EQ(parse_protocol("Nois_XX_25519_ChaChaPoly_SHA256").code(), Errc::malformed);
  EXPECT_EQ(parse_protocol("Noise_XX_25519_AESGCM_MD5").code(), Errc::unsupported);
  EXPECT_EQ(parse_protocol("Noise_XX_x25519_AESGCM_SHA256").code(), Errc::unsupported);
  EXPECT_EQ(parse_protocol(std::string(300, 'N')).code(), Errc::malformed);
}

TEST(NoiseEngine, EveryPatternAndSuiteCompletesWithRandomKeys) {
  FERRY_SEEDED(rnd);
  const char* suites[] = {"25519_ChaChaPoly_SHA256", "448_AESGCM_BLAKE2b", "25519_AESGCM_SHA512",
                          "448_ChaChaPoly_BLAKE2s"};
  for (auto base : base_pattern_names()) {
    for (std::string mods : {"", "psk0", "psk1"}) {
      // One suite per combination, chosen by the seed: every run covers each
      // pattern, and the runs together cover every suite.
      for (const char* suite : {suites[rnd.below(std::size(suites))]}) {
        std::string name = "Noise_" + std::string(base) + mods + "_" + suite;
        auto p = parse_protocol(name);
        ASSERT_TRUE(p) << name;
        Pair pr = make_pair(*p);
        ASSERT_TRUE(run(pr, rnd)) << name;
        EXPECT_TRUE(ct_equal(pr.init.handshake_hash(), pr.resp.handshake_hash())) << name;
        auto ti = pr.init.split(), tr = pr.resp.split();
        ASSERT_TRUE(ti && tr);
        Bytes msg = rnd.bytes(100);
        auto ct = ti->send.encrypt(msg);
        ASSERT_TRUE(ct);
        auto back = tr->recv.decrypt(*ct);
        ASSERT_TRUE(back) << name;
        EXPECT_EQ(*back, msg);
        if (!p->pattern.one_way()) {
          auto ct2 = tr->send.encrypt(msg);
          ASSERT_TRUE(ct2);
          EXPECT_TRUE(ti->recv.decrypt(*ct2));
        } else {
          EXPECT_EQ(tr->send.encrypt(msg).code(), Errc::invalid_state);
        }
      }
    }
  }
}

TEST(NoiseEngine, DifferentProloguesFail) {
  FERRY_SEEDED(rnd);
  auto p = parse_protocol("Noise_NN_25519_ChaChaPoly_SHA256");
  Pair pr = make_pair(*p, as_bytes("one"), as_bytes("two"));
  EXPECT_FALSE(run(pr, rnd));
}

TEST(NoiseEngine, WrongPskFails) {
  auto p = parse_protocol("Noise_NNpsk0_25519_ChaChaPoly_SHA256");
  HandshakeConfig ci, cr;
  cr.role = Role::responder;
  ci.psks.push_back(SecretBytes(32, 1));
  cr.psks.push_back(SecretBytes(32, 2));
  auto i = HandshakeState::create(*p, std::move(ci));
  auto r = HandshakeState::create(*p, std::move(cr));
  ASSERT_TRUE(i && r);
  auto m = i->write_message({});
  ASSERT_TRUE(m);
  EXPECT_EQ(r->read_message(*m).code(), Errc::auth_failed);
}

TEST(NoiseEngine, MissingKeysAndBadConfigAreRefused) {
  auto xk = parse_protocol("Noise_XK_25519_ChaChaPoly_SHA256");
  HandshakeConfig c;  // initiator without s or rs
  EXPECT_EQ(HandshakeState::create(*xk, c).code(), Errc::invalid_argument);
  c.s = dh_generate(DhKind::x25519);
  EXPECT_EQ(HandshakeState::create(*xk, c).code(), Errc::invalid_argument);
  c.rs = Bytes(31, 1);
  EXPECT_EQ(HandshakeState::create(*xk, c).code(), Errc::invalid_argument);
  c.rs = Bytes(32, 9);
  EXPECT_TRUE(HandshakeState::create(*xk, c));
  c.s = dh_generate(DhKind::x448);
  EXPECT_EQ(HandshakeState::create(*xk, c).code(), Errc::invalid_argument);
  auto psk = parse_protocol("Noise_NNpsk0_25519_ChaChaPoly_SHA256");
  EXPECT_EQ(HandshakeState::create(*psk, HandshakeConfig{}).code(), Errc::invalid_argument);
  HandshakeConfig short_psk;
  short_psk.psks.push_back(SecretBytes(16, 1));
  EXPECT_EQ(HandshakeState::create(*psk, short_psk).code(), Errc::invalid_argument);
}

TEST(NoiseEngine, TurnOrderAndFailureAreEnforced) {
  auto p = parse_protocol("Noise_XX_25519_ChaChaPoly_SHA256");
  Pair pr = make_pair(*p);
  EXPECT_EQ(pr.resp.write_message({}).code(), Errc::invalid_state);
  EXPECT_EQ(pr.init.read_message(Bytes(32, 1)).code(), Errc::invalid_state);
  auto m1 = pr.init.write_message({});
  ASSERT_TRUE(m1);
  ASSERT_TRUE(pr.resp.read_message(*m1));
  auto m2 = pr.resp.write_message({});
  ASSERT_TRUE(m2);
  Bytes bad = *m2;
  bad.back() ^= 1;
  EXPECT_EQ(pr.init.read_message(bad).code(), Errc::auth_failed);
  EXPECT_TRUE(pr.init.failed());
  // A failed handshake stays failed, even for the genuine message.
  EXPECT_EQ(pr.init.read_message(*m2).code(), Errc::invalid_state);
  EXPECT_EQ(pr.init.split().code(), Errc::invalid_state);
}

TEST(NoiseEngine, TruncatedMessagesAreErrors) {
  auto p = parse_protocol("Noise_IK_448_AESGCM_SHA512");
  Pair pr = make_pair(*p);
  auto m1 = pr.init.write_message(as_bytes("hi"));
  ASSERT_TRUE(m1);
  for (size_t len = 0; len < m1->size(); ++len) {
    Pair fresh = make_pair(*p);
    auto m = fresh.init.write_message(as_bytes("hi"));
    ASSERT_TRUE(m);
    EXPECT_FALSE(fresh.resp.read_message(ByteView(*m).first(len))) << len;
  }
}

TEST(NoiseEngine, MessageSizeLimitIs65535) {
  auto p = parse_protocol("Noise_NN_25519_ChaChaPoly_SHA256");
  Pair pr = make_pair(*p);
  // Message 1 is e (32) + cleartext payload: 65503 fits exactly.
  EXPECT_EQ(pr.init.write_message(Bytes(65504, 0)).code(), Errc::too_large);
  EXPECT_FALSE(pr.init.failed());  // refused before any state changed
  auto m = pr.init.write_message(Bytes(65503, 0));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->size(), 65535u);
  ASSERT_TRUE(pr.resp.read_message(*m));
  Pair other = make_pair(*p);
  EXPECT_EQ(other.resp.read_message(Bytes(65536, 0)).code(), Errc::too_large);
  EXPECT_TRUE(other.resp.failed());
}

TEST(CipherState, TransportLimitsRekeyAndNonceExhaustion) {
  CipherState a, b;
  Bytes key(32, 3);
  a.initialize_key(key);
  b.initialize_key(key);
  EXPECT_EQ(a.encrypt(Bytes(kMaxPlaintextLen + 1, 0)).code(), Errc::too_large);
  auto big = a.encrypt(Bytes(kMaxPlaintextLen, 0));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->size(), kMaxMessageLen);
  ASSERT_TRUE(b.decrypt(*big));
  EXPECT_EQ(b.decrypt(Bytes(kMaxMessageLen + 1, 0)).code(), Errc::too_large);

  // Rekey changes k but not n; both sides must rekey together.
  ASSERT_TRUE(a.rekey());
  auto ct = a.encrypt(as_bytes("x"));
  ASSERT_TRUE(ct);
  EXPECT_EQ(b.decrypt(*ct).code(), Errc::auth_failed);
  EXPECT_EQ(b.nonce(), 1u);  // a failed decryption does not advance n
  ASSERT_TRUE(b.rekey());
  EXPECT_TRUE(b.decrypt(*ct));

  // n = 2^64 - 1 is reserved: the message at 2^64 - 2 is the last one.
  a.set_nonce(kMaxNonce - 1);
  b.set_nonce(kMaxNonce - 1);
  auto last = a.encrypt(as_bytes("last"));
  ASSERT_TRUE(last);
  EXPECT_TRUE(b.decrypt(*last));
  EXPECT_EQ(a.encrypt(as_bytes("more")).code(), Errc::nonce_exhausted);
  EXPECT_EQ(b.decrypt(*last).code(), Errc::nonce_exhausted);

  CipherState empty;
  EXPECT_EQ(empty.encrypt(as_bytes("x")).code(), Errc::invalid_state);
  EXPECT_EQ(empty.rekey().code(), Errc::invalid_state);
  auto passthrough = empty.encrypt_with_ad({}, as_bytes("x"));  // spec: no key, no encryption
  ASSERT_TRUE(passthrough);
  EXPECT_EQ(*passthrough, Bytes{'x'});
}

TEST(CipherState, RekeyMatchesTheSpecDefinition) {
  // REKEY(k) = ENCRYPT(k, 2^64-1, empty, 32 zeros)[0..32)
  for (CipherKind kind : {CipherKind::chachapoly, CipherKind::aesgcm}) {
    Bytes key(32, 0x11);
    CipherState c(kind);
    c.initialize_key(key);
    ASSERT_TRUE(c.rekey());
    Bytes expect;
    ASSERT_TRUE(aead_encrypt(kind, key, kMaxNonce, {}, Bytes(32, 0), expect));
    CipherState d(kind);
    d.initialize_key(ByteView(expect).first(32));
    auto x = c.encrypt(as_bytes("z"));
    auto y = d.encrypt(as_bytes("z"));
    ASSERT_TRUE(x && y);
    EXPECT_EQ(*x, *y);
  }
}

}  // namespace
}  // namespace ferry::crypto::noise
