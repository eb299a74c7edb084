// Fuzzes everything that reads a Noise handshake from the network: the Noise
// Pipes server and client, and the generic engine on other protocols. Input:
// one selector byte, then a stream of 2-byte big-endian length frames, each
// handed to the reader in turn. When the handshake completes, later frames
// are decrypted as transport messages. (The messenger's frame decoder has its
// own target, chat_frame.)
//
// FERRY_FUZZ_WRITE_SEEDS=DIR writes the seed corpus to DIR and exits.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "crypto/noise/handshake_state.h"
#include "crypto/noise/pipes.h"
#include "crypto/testing/deterministic_random.h"

using namespace ferry::crypto;
using namespace ferry::crypto::noise;

namespace {

DhKeyPair fixed_key(DhKind kind, uint8_t fill) {
  return dh_keypair_from_private(kind, Bytes(dh_len(kind), fill)).value();
}

const char* const kProtocols[] = {
    "Noise_XX_448_AESGCM_BLAKE2b",
    "Noise_NKpsk0_25519_ChaChaPoly_SHA512",
    "Noise_KK1_25519_AESGCM_BLAKE2s",
    "Noise_IK_25519_ChaChaPoly_SHA256",
    "NoisePSK_XXfallback_25519_AESGCM_SHA256",
    "Noise_X_448_ChaChaPoly_SHA256",
};
constexpr size_t kProtocolCount = sizeof(kProtocols) / sizeof(kProtocols[0]);

HandshakeConfig config_for(const Protocol& p, Role role) {
  HandshakeConfig c;
  c.role = role;
  c.prologue = {'f', 'u', 'z', 'z'};
  c.s = fixed_key(p.dh, role == Role::initiator ? 1 : 2);
  c.rs = fixed_key(p.dh, role == Role::initiator ? 2 : 1).public_key;
  c.e = fixed_key(p.dh, role == Role::initiator ? 3 : 4);
  c.re = fixed_key(p.dh, role == Role::initiator ? 4 : 3).public_key;
  size_t n = p.legacy_psk ? 1 : p.pattern.psk_count();
  for (size_t i = 0; i < n; ++i) c.psks.push_back(SecretBytes(32, 7));
  return c;
}

// Splits the input into messages: length (u16, big-endian) || body.
std::optional<ByteView> next_frame(ByteView& rest) {
  if (rest.size() < 2) return std::nullopt;
  const size_t len = size_t{rest[0]} << 8 | rest[1];
  if (rest.size() - 2 < len) return std::nullopt;
  ByteView body = rest.subspan(2, len);
  rest = rest.subspan(2 + len);
  return body;
}

// Feeds frames to `read`, answering with `write` whenever it is our turn.
template <typename Hs>
void drive(Hs& hs, ByteView frames) {
  std::optional<Transport> transport;
  for (int guard = 0; guard < 64; ++guard) {
    auto frame = next_frame(frames);
    if (!frame) return;
    if (transport) {
      (void)transport->recv.decrypt(*frame);
      continue;
    }
    if (!hs.read_message(*frame)) return;
    if (hs.needs_write() && !hs.write_message(Bytes{1, 2, 3})) return;
    if (hs.is_complete()) {
      auto t = hs.split();
      if (!t) std::abort();  // a complete handshake always splits
      transport = std::move(*t);
    }
  }
}

void write_seed(const std::string& dir, const std::string& name, uint8_t selector, ByteView msg) {
  Bytes out{selector, static_cast<uint8_t>(msg.size() >> 8), static_cast<uint8_t>(msg.size())};
  out.insert(out.end(), msg.begin(), msg.end());
  std::ofstream(dir + "/" + name, std::ios::binary)
      .write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
}

void write_seeds(const std::string& dir) {
  // A real Pipes IK first message and a real XX first message from a client
  // with fixed keys, and each generic protocol's first message.
  DhKeyPair server = fixed_key(DhKind::x25519, 9);
  for (auto [name, type, proto] : {std::tuple{"pipes_ik", PipesType::ik, kPipesIK},
                                   std::tuple{"pipes_xx", PipesType::xx, kPipesXX}}) {
    HandshakeConfig c;
    c.prologue = Bytes(kFerryPrologue.begin(), kFerryPrologue.end());
    c.s = fixed_key(DhKind::x25519, 8);
    c.rs = server.public_key;
    c.e = fixed_key(DhKind::x25519, 10);
    auto hs = HandshakeState::create(proto, c).value();
    Bytes msg{static_cast<uint8_t>(type)};
    Bytes body = hs.write_message(Bytes{'h', 'i'}).value();
    msg.insert(msg.end(), body.begin(), body.end());
    write_seed(dir, name, 0, msg);
  }
  for (size_t i = 0; i < kProtocolCount; ++i) {
    Protocol p = parse_protocol(kProtocols[i]).value();
    auto hs = HandshakeState::create(p, config_for(p, Role::initiator)).value();
    write_seed(dir, "generic_" + std::to_string(i), static_cast<uint8_t>(3 + i),
               hs.write_message({}).value());
  }
  write_seed(dir, "protocol_name", 3 + kProtocolCount,
             as_bytes("Noise_XXfallback+psk0_448_AESGCM_BLAKE2b"));
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
  const uint8_t selector = data[0];
  const ByteView frames(data + 1, size - 1);
  static const DhKeyPair server = fixed_key(DhKind::x25519, 9);
  static const DhKeyPair client = fixed_key(DhKind::x25519, 8);
  const ByteView prologue = as_bytes(kFerryPrologue);
  if (selector == 0) {
    auto s = PipesResponder::create(server, prologue).value();
    drive(s, frames);
  } else if (selector == 1 || selector == 2) {
    std::optional<Bytes> pin;
    if (selector == 1) pin = server.public_key;
    auto c = PipesInitiator::create(client, pin, prologue, PinPolicy::report).value();
    if (!c.write_message({})) std::abort();
    drive(c, frames);
  } else if (selector < 3 + kProtocolCount) {
    Protocol p = parse_protocol(kProtocols[selector - 3]).value();
    // Odd inputs play the initiator: it writes first, then reads replies.
    Role role = size % 2 ? Role::initiator : Role::responder;
    auto hs = HandshakeState::create(p, config_for(p, role));
    if (!hs) std::abort();
    if (role == Role::initiator && !hs->write_message({})) std::abort();
    drive(*hs, frames);
  } else {
    ByteView rest = frames;
    while (auto frame = next_frame(rest)) {
      auto p = parse_protocol(
          std::string_view(reinterpret_cast<const char*>(frame->data()), frame->size()));
      if (p && !validate_pattern(p->pattern)) std::abort();  // parsed patterns are valid
    }
  }
  return 0;
}
