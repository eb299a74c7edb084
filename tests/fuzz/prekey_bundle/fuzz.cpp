// Fuzzes the decoders of prekey bundles, stored private keys and identity
// keys, and X3DH on whatever bundle decodes. Input: one selector byte, then
// the encoded bytes.
//
// FERRY_FUZZ_WRITE_SEEDS=DIR writes the seed corpus to DIR and exits.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "crypto/prekeys.h"
#include "crypto/testing/deterministic_random.h"
#include "crypto/x3dh.h"

using namespace ferry::crypto;

namespace {

const IdentityKeyPair& alice() {
  static const IdentityKeyPair id = IdentityKeyPair::from_seed(Bytes(32, 1)).value();
  return id;
}

void write_seed(const std::string& dir, const std::string& name, uint8_t selector, ByteView msg) {
  Bytes out{selector};
  out.insert(out.end(), msg.begin(), msg.end());
  std::ofstream(dir + "/" + name, std::ios::binary)
      .write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
}

void write_seeds(const std::string& dir) {
  IdentityKeyPair bob = IdentityKeyPair::from_seed(Bytes(32, 2)).value();
  SignedPrekeyPair spk = generate_signed_prekey(bob, 1);
  OneTimePrekeyPair opk = generate_one_time_prekeys(7, 1)[0];
  write_seed(dir, "bundle", 0,
             PrekeyBundle{bob.public_key(), spk.public_part(), std::nullopt}.encode());
  write_seed(dir, "bundle_opk", 0,
             PrekeyBundle{bob.public_key(), spk.public_part(), opk.public_part()}.encode());
  write_seed(dir, "signed_prekey", 1, view(spk.serialize()));
  write_seed(dir, "one_time_prekey", 2, view(opk.serialize()));
  write_seed(dir, "identity", 3, view(bob.serialize()));
  Bytes signed_msg(bob.public_key().bytes().begin(), bob.public_key().bytes().end());
  Signature sig = bob.sign(as_bytes("message"));
  signed_msg.insert(signed_msg.end(), sig.begin(), sig.end());
  signed_msg.insert(signed_msg.end(), {'m', 'e', 's', 's', 'a', 'g', 'e'});
  write_seed(dir, "identity_signature", 4, signed_msg);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  testing::use_deterministic_random(0x5eed);
  if (const char* dir = std::getenv("FERRY_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ByteView in(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      auto bundle = PrekeyBundle::decode(in);
      if (!bundle) break;
      if (bundle->encode() != Bytes(in.begin(), in.end())) std::abort();  // canonical
      if (bundle->verify()) (void)x3dh_initiate(alice(), *bundle);
      break;
    }
    case 1: {
      auto k = SignedPrekeyPair::deserialize(in);
      if (k && !ct_equal(view(k->serialize()), in)) std::abort();
      break;
    }
    case 2: {
      auto k = OneTimePrekeyPair::deserialize(in);
      if (k && !ct_equal(view(k->serialize()), in)) std::abort();
      break;
    }
    case 3: {
      auto k = IdentityKeyPair::deserialize(in);
      if (k && !ct_equal(view(k->serialize()), in)) std::abort();
      break;
    }
    case 4: {
      // 32-byte Ed25519 key || 64-byte signature || message
      if (in.size() < 96) break;
      auto k = IdentityPublicKey::from_bytes(in.first(32));
      if (k) (void)k->verify(in.subspan(96), in.subspan(32, 64));
      break;
    }
  }
  return 0;
}
