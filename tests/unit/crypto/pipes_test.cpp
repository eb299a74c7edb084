// Noise Pipes between a client and a server: XX, IK, and IK -> XXfallback.
#include "crypto/noise/pipes.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace ferry::crypto::noise {
namespace {

const ByteView kPrologue = as_bytes(kFerryPrologue);

struct Outcome {
  bool ok = false;
  Errc error = Errc::internal;
  std::vector<Bytes> payloads_at_server, payloads_at_client;
};

// Runs the handshake, passing `payload_n` as the payload of message n.
Outcome handshake(PipesInitiator& c, PipesResponder& s) {
  Outcome o;
  for (int n = 0; n < 6 && !(c.is_complete() && s.is_complete()); ++n) {
    Bytes payload = {static_cast<uint8_t>('0' + n)};
    bool client_writes = c.needs_write();
    auto msg = client_writes ? c.write_message(payload) : s.write_message(payload);
    if (!msg) {
      o.error = msg.code();
      return o;
    }
    auto got = client_writes ? s.read_message(*msg) : c.read_message(*msg);
    if (!got) {
      o.error = got.code();
      return o;
    }
    (client_writes ? o.payloads_at_server : o.payloads_at_client).push_back(*got);
  }
  o.ok = c.is_complete() && s.is_complete();
  return o;
}

void expect_transport_works(const PipesInitiator& c, const PipesResponder& s) {
  auto tc = c.split();
  auto ts = s.split();
  ASSERT_TRUE(tc && ts);
  for (int i = 0; i < 3; ++i) {
    auto up = tc->send.encrypt(as_bytes("to server"));
    ASSERT_TRUE(up);
    auto got = ts->recv.decrypt(*up);
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, (Bytes{'t', 'o', ' ', 's', 'e', 'r', 'v', 'e', 'r'}));
    auto down = ts->send.encrypt(as_bytes("to client"));
    ASSERT_TRUE(down);
    EXPECT_TRUE(tc->recv.decrypt(*down));
  }
  EXPECT_TRUE(ct_equal(c.handshake_hash(), s.handshake_hash()));
}

TEST(Pipes, FullHandshakeWithoutPinnedKeyIsXX) {
  DhKeyPair client = dh_generate(DhKind::x25519), server = dh_generate(DhKind::x25519);
  auto c = PipesInitiator::create(client, std::nullopt, kPrologue);
  auto s = PipesResponder::create(server, kPrologue);
  ASSERT_TRUE(c && s);
  Outcome o = handshake(*c, *s);
  ASSERT_TRUE(o.ok) << to_string(o.error);
  EXPECT_EQ(c->mode(), PipesType::xx);
  EXPECT_EQ(s->mode(), PipesType::xx);
  EXPECT_EQ(o.payloads_at_server.size(), 2u);
  EXPECT_TRUE(ct_equal(*c->remote_static(), server.public_key));
  EXPECT_TRUE(ct_equal(*s->remote_static(), client.public_key));
  expect_transport_works(*c, *s);
}

TEST(Pipes, PinnedKeyGivesZeroRttIK) {
  DhKeyPair client = dh_generate(DhKind::x25519), server = dh_generate(DhKind::x25519);
  auto c = PipesInitiator::create(client, server.public_key, kPrologue);
  auto s = PipesResponder::create(server, kPrologue);
  ASSERT_TRUE(c && s);
  auto first = c->write_message(as_bytes("early"));
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)[0], static_cast<uint8_t>(PipesType::ik));
  auto early = s->read_message(*first);
  ASSERT_TRUE(early);
  EXPECT_EQ(*early, (Bytes{'e', 'a', 'r', 'l', 'y'}));  // zero-RTT payload arrived
  auto second = s->write_message({});
  ASSERT_TRUE(second);
  ASSERT_TRUE(c->read_message(*second));
  EXPECT_TRUE(c->is_complete() && s->is_complete());
  EXPECT_EQ(c->mode(), PipesType::ik);
  EXPECT_FALSE(c->early_data_lost());
  expect_transport_works(*c, *s);
}

TEST(Pipes, ServerThatCannotDecryptIKFallsBack) {
  DhKeyPair client = dh_generate(DhKind::x25519), server = dh_generate(DhKind::x25519);
  DhKeyPair old_server = dh_generate(DhKind::x25519);
  // The client pinned a key the server no longer has; it lets the
  // application decide (report), so the handshake completes.
  auto c = PipesInitiator::create(client, old_server.public_key, kPrologue, PinPolicy::report);
  auto s = PipesResponder::create(server, kPrologue);
  ASSERT_TRUE(c && s);
  Outcome o = handshake(*c, *s);
  ASSERT_TRUE(o.ok) << to_string(o.error);
  EXPECT_EQ(c->mode(), PipesType::xx_fallback);
  EXPECT_EQ(s->mode(), PipesType::xx_fallback);
  EXPECT_TRUE(c->early_data_lost());
  EXPECT_TRUE(c->server_key_changed());
  EXPECT_TRUE(o.payloads_at_server[0].empty());  // the IK payload was unreadable
  EXPECT_TRUE(ct_equal(*c->remote_static(), server.public_key));
  EXPECT_TRUE(ct_equal(*s->remote_static(), client.public_key));
  expect_transport_works(*c, *s);
}

TEST(Pipes, StrictPinRefusesAnotherServerKeyBeforeSendingOurs) {
  DhKeyPair client = dh_generate(DhKind::x25519), server = dh_generate(DhKind::x25519);
  auto c = PipesInitiator::create(client, dh_generate(DhKind::x25519).public_key, kPrologue);
  auto s = PipesResponder::create(server, kPrologue);
  ASSERT_TRUE(c && s);
  Outcome o = handshake(*c, *s);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error, Errc::bad_key);
  EXPECT_TRUE(c->failed());
  EXPECT_EQ(c->write_message({}).code(), Errc::invalid_state);
}

TEST(Pipes, WrongMessageTypesAreRefused) {
  DhKeyPair client = dh_generate(DhKind::x25519), server = dh_generate(DhKind::x25519);
  {
    auto s = PipesResponder::create(server, kPrologue);
    EXPECT_EQ(s->read_message(Bytes{0x02, 1, 2, 3}).code(), Errc::malformed);
    EXPECT_TRUE(s->failed());
  }
  {
    auto s = PipesResponder::create(server, kPrologue);
    EXPECT_EQ(s->read_message(Bytes{}).code(), Errc::malformed);
  }
  {
    // An XX client must not accept a fallback reply.
    auto c = PipesInitiator::create(client, std::nullopt, kPrologue);
    auto s = PipesResponder::create(server, kPrologue);
    auto m1 = c->write_message({});
    ASSERT_TRUE(m1);
    ASSERT_TRUE(s->read_message(*m1));
    auto m2 = s->write_message({});
    ASSERT_TRUE(m2);
    (*m2)[0] = static_cast<uint8_t>(PipesType::xx_fallback);
    EXPECT_EQ(c->read_message(*m2).code(), Errc::malformed);
  }
  {
    // A flipped type byte on the first message makes both ends fail, never
    // a handshake with a confused peer.
    auto c = PipesInitiator::create(client, server.public_key, kPrologue);
    auto s = PipesResponder::create(server, kPrologue);
    auto m1 = c->write_message({});
    ASSERT_TRUE(m1);
    (*m1)[0] = static_cast<uint8_t>(PipesType::xx);
    auto r = s->read_message(*m1);
    if (r) {
      auto m2 = s->write_message({});
      ASSERT_TRUE(m2);
      EXPECT_FALSE(c->read_message(*m2));
    }
  }
  {
    auto s = PipesResponder::create(server, kPrologue);
    EXPECT_EQ(s->read_message(Bytes{0x01, 1, 2}).code(),
              Errc::malformed);  // too short to fall back
  }
}

TEST(Pipes, BadConfigIsRefused) {
  EXPECT_EQ(PipesInitiator::create(dh_generate(DhKind::x448), std::nullopt, kPrologue).code(),
            Errc::invalid_argument);
  EXPECT_EQ(PipesInitiator::create(dh_generate(DhKind::x25519), Bytes(31, 0), kPrologue).code(),
            Errc::invalid_argument);
  EXPECT_EQ(PipesResponder::create(dh_generate(DhKind::x448), kPrologue).code(),
            Errc::invalid_argument);
  auto c = PipesInitiator::create(dh_generate(DhKind::x25519), std::nullopt, kPrologue);
  EXPECT_EQ(c->write_message(Bytes(kMaxPipesPayload + 1, 0)).code(), Errc::too_large);
  auto big = c->write_message(Bytes(kMaxPipesPayload, 0));
  ASSERT_TRUE(big);
  EXPECT_LE(big->size(), kMaxMessageLen);
}

TEST(Pipes, DifferentProloguesFail) {
  DhKeyPair client = dh_generate(DhKind::x25519), server = dh_generate(DhKind::x25519);
  auto c = PipesInitiator::create(client, std::nullopt, as_bytes("a"));
  auto s = PipesResponder::create(server, as_bytes("b"));
  EXPECT_FALSE(handshake(*c, *s).ok);
}

}  // namespace
}  // namespace ferry::crypto::noise
