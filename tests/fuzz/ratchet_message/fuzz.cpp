// Fuzzes the ratchet message decoders and decryption on established sessions,
// session acceptance from a prekey message, and session-state decoding.
// Input: one selector byte, then the message bytes.
//
// FERRY_FUZZ_WRITE_SEEDS=DIR writes the seed corpus (real messages; the
// random source is fixed, so they stay valid) to DIR and exits.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "crypto/ratchet.h"
#include "crypto/testing/deterministic_random.h"

using namespace ferry::crypto;

namespace {

struct Fixture {
  IdentityKeyPair alice = IdentityKeyPair::from_seed(Bytes(32, 1)).value();
  IdentityKeyPair bob = IdentityKeyPair::from_seed(Bytes(32, 2)).value();
  SignedPrekeyPair spk = generate_signed_prekey(bob, 1);
  OneTimePrekeyPair opk{7, dh_keypair_from_private(DhKind::x25519, Bytes(32, 3)).value()};
  std::optional<RatchetSession> alice_session, bob_session;
  Bytes first, reply, normal;  // real messages for the seeds

  Fixture() {
    PrekeyBundle bundle{bob.public_key(), spk.public_part(), opk.public_part()};
    alice_session = RatchetSession::initiate(alice, bundle).value();
    first = alice_session->encrypt(Bytes{'h', 'e', 'l', 'l', 'o'}).value();
    auto accepted = RatchetSession::accept(bob, spk, &opk, first).value();
    bob_session = std::move(accepted.session);
    reply = bob_session->encrypt(Bytes{'h', 'i'}).value();
    normal = bob_session->encrypt(Bytes{'a', 'g', 'a', 'i', 'n'}).value();
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void write_seed(const std::string& dir, const std::string& name, uint8_t selector, ByteView msg) {
  Bytes out{selector};
  out.insert(out.end(), msg.begin(), msg.end());
  std::ofstream(dir + "/" + name, std::ios::binary)
      .write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  testing::use_deterministic_random(0x5eed);
  Fixture& f = fixture();
  if (const char* dir = std::getenv("FERRY_FUZZ_WRITE_SEEDS")) {
    write_seed(dir, "bob_decrypts_prekey", 0, f.first);
    write_seed(dir, "alice_decrypts_reply", 1, f.reply);
    write_seed(dir, "alice_decrypts_normal", 1, f.normal);
    write_seed(dir, "accept_prekey", 2, f.first);
    write_seed(dir, "parse_prekey", 3, f.first);
    SecretBytes state = f.bob_session->serialize();
    write_seed(dir, "session_state", 4, view(state));
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Fixture& f = fixture();
  ByteView msg(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      RatchetSession s = *f.bob_session;  // a copy: every input sees the same state
      (void)s.decrypt(msg);
      break;
    }
    case 1: {
      RatchetSession s = *f.alice_session;
      if (s.decrypt(msg)) (void)s.encrypt(Bytes{1});
      break;
    }
    case 2: {
      bool with_opk = size % 2 == 0;
      auto accepted = RatchetSession::accept(f.bob, f.spk, with_opk ? &f.opk : nullptr, msg);
      if (accepted) (void)accepted->session.encrypt(Bytes{1});
      break;
    }
    case 3: {
      (void)peek_message_type(msg);
      (void)parse_prekey_message(msg);
      break;
    }
    case 4: {
      auto s = RatchetSession::deserialize(msg);
      if (!s) break;
      // The state encoding is canonical: what decodes, encodes back the same.
      SecretBytes again = s->serialize();
      if (!ct_equal(view(again), msg)) std::abort();
      (void)s->decrypt(f.normal);
      (void)s->encrypt(Bytes{2});
      break;
    }
  }
  return 0;
}
