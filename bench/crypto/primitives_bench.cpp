// The raw primitives, alone and summed in the exact mix each protocol
// operation performs. "Mix_*" benchmarks are the denominator of the ratio in
// bench/results/crypto.md: the cost of the primitives, without our code.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include "crypto/kdf.h"
#include "crypto/keys.h"
#include "crypto/primitives/aead.h"
#include "crypto/primitives/aes_cbc.h"
#include "crypto/primitives/dh.h"
#include "crypto/primitives/hash.h"

namespace ferry::crypto {
namespace {

struct Fixture {
  DhKeyPair a = dh_generate(DhKind::x25519);
  DhKeyPair b = dh_generate(DhKind::x25519);
  Bytes key = Bytes(32, 1);
  Bytes h = Bytes(32, 2);
  IdentityKeyPair id = IdentityKeyPair::generate();
  Bytes msg = Bytes(48, 3);
  Signature sig = id.sign(msg);
};

Fixture& fx() {
  static Fixture f;
  return f;
}

// One of each primitive, as the protocols call them.
inline void keygen() {
  benchmark::DoNotOptimize(dh_generate(DhKind::x25519));
}
inline void dh_op() {
  benchmark::DoNotOptimize(dh(fx().a, fx().b.public_key));
}
inline void noise_hkdf2() {
  uint8_t out[64];
  noise_hkdf(HashKind::sha256, fx().h, fx().key, 2, out);
  benchmark::DoNotOptimize(out);
}
inline void mix_hash(size_t len) {
  uint8_t out[32];
  Bytes data(len, 4);
  hash_parts(HashKind::sha256, {fx().h, data}, out);
  benchmark::DoNotOptimize(out);
}
inline void aead(size_t len) {
  Bytes out;
  Bytes pt(len, 5);
  (void)aead_encrypt(CipherKind::chachapoly, fx().key, 1, fx().h, pt, out);
  benchmark::DoNotOptimize(out);
}
inline void hmac(size_t len) {
  uint8_t out[32];
  Bytes data(len, 6);
  hmac_sha256(fx().key, data, out);
  benchmark::DoNotOptimize(out);
}
inline void hkdf(size_t out_len) {
  uint8_t out[80];
  hkdf_sha256(fx().key, fx().h, as_bytes("WhisperMessageKeys"), out, out_len);
  benchmark::DoNotOptimize(out);
}
inline void cbc(size_t len) {
  auto ct = aes256_cbc_encrypt(fx().key, ByteView(fx().key).first(16), Bytes(len, 7));
  benchmark::DoNotOptimize(ct);
}
inline void ed25519_verify() {
  benchmark::DoNotOptimize(fx().id.public_key().verify(fx().msg, fx().sig));
}
inline void ed25519_import() {
  benchmark::DoNotOptimize(IdentityPublicKey::from_bytes(fx().id.public_key().bytes()));
}

void Prim_X25519_Keygen(benchmark::State& s) {
  for (auto _ : s) keygen();
}
void Prim_X25519_DH(benchmark::State& s) {
  for (auto _ : s) dh_op();
}
void Prim_NoiseHKDF_SHA256(benchmark::State& s) {
  for (auto _ : s) noise_hkdf2();
}
void Prim_SHA256_MixHash64(benchmark::State& s) {
  for (auto _ : s) mix_hash(48);
}
void Prim_ChaChaPoly_48B(benchmark::State& s) {
  for (auto _ : s) aead(48);
}
void Prim_HMAC_SHA256_378B(benchmark::State& s) {
  for (auto _ : s) hmac(378);
}
void Prim_HKDF_SHA256_80B(benchmark::State& s) {
  for (auto _ : s) hkdf(80);
}
void Prim_AES256CBC_256B(benchmark::State& s) {
  for (auto _ : s) cbc(256);
}
void Prim_Ed25519_Verify(benchmark::State& s) {
  for (auto _ : s) ed25519_verify();
}
void Prim_Ed25519_ImportAndConvert(benchmark::State& s) {
  for (auto _ : s) ed25519_import();
}

// Noise_XX_25519_ChaChaPoly_SHA256, both parties: 2 key generations, 6 DH,
// 8 HKDF (6 MixKey + 2 Split), 16 MixHash, 8 AEAD calls.
void Mix_NoiseXX(benchmark::State& s) {
  for (auto _ : s) {
    for (int i = 0; i < 2; ++i) keygen();
    for (int i = 0; i < 6; ++i) dh_op();
    for (int i = 0; i < 8; ++i) noise_hkdf2();
    for (int i = 0; i < 16; ++i) mix_hash(32);
    for (int i = 0; i < 8; ++i) aead(32);
  }
}

// Noise_IK_25519_ChaChaPoly_SHA256, both parties: 2 key generations, 8 DH,
// 10 HKDF (8 MixKey + 2 Split), 14 MixHash, 6 AEAD calls.
void Mix_NoiseIK(benchmark::State& s) {
  for (auto _ : s) {
    for (int i = 0; i < 2; ++i) keygen();
    for (int i = 0; i < 8; ++i) dh_op();
    for (int i = 0; i < 10; ++i) noise_hkdf2();
    for (int i = 0; i < 14; ++i) mix_hash(32);
    for (int i = 0; i < 6; ++i) aead(32);
  }
}

// One 256-byte ratchet message, encrypt + decrypt on the same chain: 2 chain
// steps (4 one-byte HMACs), 2 message-key HKDFs, 2 MACs over AD+header+
// ciphertext (378 bytes), AES-CBC both ways (decrypt costs about the same).
void Mix_RatchetMessage256(benchmark::State& s) {
  for (auto _ : s) {
    for (int i = 0; i < 4; ++i) hmac(1);
    for (int i = 0; i < 2; ++i) hkdf(80);
    for (int i = 0; i < 2; ++i) hmac(378);
    for (int i = 0; i < 2; ++i) cbc(256);
  }
}

// Session setup with a one-time prekey: initiate (signature check, 2 key
// generations, 5 DH, X3DH HKDF, root step), first encrypt, accept (identity
// import, 4 DH, X3DH HKDF) and its first decrypt (DH ratchet: 1 key
// generation, 2 DH, 2 root steps) -- 3 key generations, 11 DH, 1 Ed25519
// verify, 1 Ed25519 import, 5 HKDF-32/64, plus one message each way.
void Mix_SessionSetup(benchmark::State& s) {
  for (auto _ : s) {
    ed25519_verify();
    ed25519_import();
    for (int i = 0; i < 3; ++i) keygen();
    for (int i = 0; i < 11; ++i) dh_op();
    for (int i = 0; i < 5; ++i) hkdf(64);
    for (int i = 0; i < 4; ++i) hmac(1);
    for (int i = 0; i < 2; ++i) hkdf(80);
    for (int i = 0; i < 2; ++i) hmac(122);  // AD 64 + header 42 + one block
    for (int i = 0; i < 2; ++i) cbc(2);
  }
}

BENCHMARK(Prim_X25519_Keygen);
BENCHMARK(Prim_X25519_DH);
BENCHMARK(Prim_NoiseHKDF_SHA256);
BENCHMARK(Prim_SHA256_MixHash64);
BENCHMARK(Prim_ChaChaPoly_48B);
BENCHMARK(Prim_HMAC_SHA256_378B);
BENCHMARK(Prim_HKDF_SHA256_80B);
BENCHMARK(Prim_AES256CBC_256B);
BENCHMARK(Prim_Ed25519_Verify);
BENCHMARK(Prim_Ed25519_ImportAndConvert);
BENCHMARK(Mix_NoiseXX);
BENCHMARK(Mix_NoiseIK);
BENCHMARK(Mix_RatchetMessage256);
BENCHMARK(Mix_SessionSetup);

}  // namespace
}  // namespace ferry::crypto
