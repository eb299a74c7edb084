// The protocol operations, end to end through the public API.
#include <benchmark/benchmark.h>

#include "crypto/noise/handshake_state.h"
#include "crypto/ratchet.h"
#include "crypto/x3dh.h"

namespace ferry::crypto {
namespace {

using noise::HandshakeConfig;
using noise::HandshakeState;
using noise::Role;

// A whole handshake, both parties, up to and including Split().
void handshake(benchmark::State& s, std::string_view name, bool pinned) {
  auto protocol = noise::parse_protocol(name).value();
  DhKeyPair client = dh_generate(DhKind::x25519), server = dh_generate(DhKind::x25519);
  for (auto _ : s) {
    HandshakeConfig ci, cr;
    ci.s = client;
    if (pinned) ci.rs = server.public_key;
    cr.role = Role::responder;
    cr.s = server;
    auto i = HandshakeState::create(protocol, std::move(ci));
    auto r = HandshakeState::create(protocol, std::move(cr));
    while (!i->is_complete()) {
      HandshakeState& w = i->needs_write() ? *i : *r;
      HandshakeState& rd = &w == &*i ? *r : *i;
      auto m = w.write_message({});
      if (!m || !rd.read_message(*m)) s.SkipWithError("handshake failed");
    }
    benchmark::DoNotOptimize(i->split());
    benchmark::DoNotOptimize(r->split());
  }
}

void Noise_XX_Handshake(benchmark::State& s) {
  handshake(s, "Noise_XX_25519_ChaChaPoly_SHA256", false);
}
void Noise_IK_Handshake(benchmark::State& s) {
  handshake(s, "Noise_IK_25519_ChaChaPoly_SHA256", true);
}

struct Parties {
  IdentityKeyPair alice = IdentityKeyPair::generate();
  IdentityKeyPair bob = IdentityKeyPair::generate();
  SignedPrekeyPair spk = generate_signed_prekey(bob, 1);
  OneTimePrekeyPair opk = generate_one_time_prekeys(1, 1)[0];
  PrekeyBundle bundle() const { return {bob.public_key(), spk.public_part(), opk.public_part()}; }
};

// Encrypt + decrypt of one 256-byte message on an established session.
void Ratchet_EncryptDecrypt256(benchmark::State& s) {
  Parties p;
  auto alice = RatchetSession::initiate(p.alice, p.bundle()).value();
  auto bob =
      RatchetSession::accept(p.bob, p.spk, &p.opk, alice.encrypt(Bytes{1}).value()).value().session;
  (void)alice.decrypt(bob.encrypt(Bytes{2}).value()).value();
  Bytes msg(256, 0x61);
  for (auto _ : s) {
    auto ct = alice.encrypt(msg);
    auto pt = bob.decrypt(*ct);
    if (!pt) s.SkipWithError("decrypt failed");
    benchmark::DoNotOptimize(pt);
  }
}

// Messages alternating direction: every message also takes a DH ratchet step.
void Ratchet_PingPong256(benchmark::State& s) {
  Parties p;
  auto alice = RatchetSession::initiate(p.alice, p.bundle()).value();
  auto bob =
      RatchetSession::accept(p.bob, p.spk, &p.opk, alice.encrypt(Bytes{1}).value()).value().session;
  Bytes msg(256, 0x61);
  bool turn = false;
  for (auto _ : s) {
    RatchetSession& from = turn ? alice : bob;
    RatchetSession& to = turn ? bob : alice;
    auto pt = to.decrypt(*from.encrypt(msg));
    if (!pt) s.SkipWithError("decrypt failed");
    turn = !turn;
  }
}

// X3DH alone, both sides (with a one-time prekey).
void X3dh_Agreement(benchmark::State& s) {
  Parties p;
  PrekeyBundle b = p.bundle();
  for (auto _ : s) {
    auto a = x3dh_initiate(p.alice, b);
    auto r = x3dh_respond(p.bob, p.spk, &p.opk, p.alice.public_key(), a->ephemeral_public);
    benchmark::DoNotOptimize(r);
  }
}

// A whole session set-up: initiate from the bundle, first message, accept.
void X3dh_SessionSetup(benchmark::State& s) {
  Parties p;
  PrekeyBundle b = p.bundle();
  Bytes hello{'h', 'i'};
  for (auto _ : s) {
    auto alice = RatchetSession::initiate(p.alice, b);
    auto first = alice->encrypt(hello);
    auto bob = RatchetSession::accept(p.bob, p.spk, &p.opk, *first);
    if (!bob) s.SkipWithError("accept failed");
    benchmark::DoNotOptimize(bob);
  }
}

BENCHMARK(Noise_XX_Handshake);
BENCHMARK(Noise_IK_Handshake);
BENCHMARK(Ratchet_EncryptDecrypt256);
BENCHMARK(Ratchet_PingPong256);
BENCHMARK(X3dh_Agreement);
BENCHMARK(X3dh_SessionSetup);

}  // namespace
}  // namespace ferry::crypto
