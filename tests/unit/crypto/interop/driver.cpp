// The C++ side of the interoperability check (run_interop.sh): Alice, with
// fixed keys, builds Bob's bundle, starts a session and writes her first two
// messages ("start DIR"); then decrypts the replies an independent
// implementation of docs/protocol.md produced ("finish DIR HEX...").
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "crypto/ratchet.h"

using namespace ferry::crypto;

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const std::string cmd = argv[1], dir = argv[2];
  auto alice = IdentityKeyPair::from_seed(Bytes(32, 0x11)).value();
  auto bob = IdentityKeyPair::from_seed(Bytes(32, 0x22)).value();
  SignedPrekeyPair spk{77, dh_keypair_from_private(DhKind::x25519, Bytes(32, 0x33)).value(), {}};
  spk.signature = bob.sign(signed_prekey_message(77, public_key_from(spk.key.public_key).value()));
  OneTimePrekeyPair opk{9, dh_keypair_from_private(DhKind::x25519, Bytes(32, 0x44)).value()};
  if (cmd == "start") {
    Bytes wire = PrekeyBundle{bob.public_key(), spk.public_part(), opk.public_part()}.encode();
    auto session = RatchetSession::initiate(alice, PrekeyBundle::decode(wire).value()).value();
    Bytes m1 = session.encrypt(as_bytes("hello from alice, message one")).value();
    Bytes m2 = session.encrypt(as_bytes("second")).value();
    std::ofstream(dir + "/alice_out.txt") << to_hex(wire) << "\n"
                                          << to_hex(m1) << "\n"
                                          << to_hex(m2) << "\n";
    SecretBytes state = session.serialize();
    std::ofstream(dir + "/alice.state", std::ios::binary)
        .write(reinterpret_cast<const char*>(state.data()),
               static_cast<std::streamsize>(state.size()));
    return 0;
  }
  std::ifstream in(dir + "/alice.state", std::ios::binary);
  std::string state((std::istreambuf_iterator<char>(in)), {});
  auto session = RatchetSession::deserialize(as_bytes(state));
  if (!session) return 1;
  for (int i = 3; i < argc; ++i) {
    auto wire = from_hex(argv[i]);
    if (!wire) return 1;
    auto pt = session->decrypt(*wire);
    if (!pt) {
      std::cout << "decrypt failed: " << to_string(pt.code()) << "\n";
      return 1;
    }
    std::cout << "alice got: " << std::string(pt->begin(), pt->end()) << "\n";
  }
  std::cout << "safety " << safety_number(alice.public_key(), bob.public_key()) << "\n";
  return 0;
}
