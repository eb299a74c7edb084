#include "crypto/noise/symmetric_state.h"

#include <array>

namespace ferry::crypto::noise {

SymmetricState::SymmetricState(HashKind hash, CipherKind cipher, std::string_view protocol_name)
    : hash_(hash), hlen_(crypto::hash_len(hash)), cipher_(cipher) {
  // InitializeSymmetric: h = name padded with zeros, or HASH(name) if longer.
  if (protocol_name.size() <= hlen_) {
    h_.assign(as_bytes(protocol_name));
  } else {
    hash_parts(hash_, {as_bytes(protocol_name)}, h_.data());
  }
  ck_ = h_;
}

void SymmetricState::mix_key(ByteView ikm) {
  SecretArray<2 * kMaxHashLen> out;
  noise_hkdf(hash_, ck_.view().first(hlen_), ikm, 2, out.data());
  ck_.assign(out.view().first(hlen_));
  cipher_.initialize_key(out.view().subspan(hlen_, 32));  // truncated to 32 if HASHLEN is 64
}

void SymmetricState::mix_hash(ByteView data) {
  SecretArray<kMaxHashLen> h;
  hash_parts(hash_, {h_.view().first(hlen_), data}, h.data());
  h_ = h;
}

void SymmetricState::mix_key_and_hash(ByteView ikm) {
  SecretArray<3 * kMaxHashLen> out;
  noise_hkdf(hash_, ck_.view().first(hlen_), ikm, 3, out.data());
  ck_.assign(out.view().first(hlen_));
  mix_hash(out.view().subspan(hlen_, hlen_));
  cipher_.initialize_key(out.view().subspan(2 * hlen_, 32));
}

void SymmetricState::mix_legacy_psk(ByteView psk) {
  SecretArray<2 * kMaxHashLen> out;
  noise_hkdf(hash_, ck_.view().first(hlen_), psk, 2, out.data());
  ck_.assign(out.view().first(hlen_));
  mix_hash(out.view().subspan(hlen_, hlen_));
}

Result<void> SymmetricState::encrypt_and_hash(ByteView plaintext, Bytes& out) {
  size_t start = out.size();
  auto r = cipher_.encrypt_with_ad(handshake_hash(), plaintext, out);
  if (!r) return r;
  mix_hash(ByteView(out).subspan(start));
  return {};
}

Result<void> SymmetricState::decrypt_and_hash(ByteView ciphertext, Bytes& out) {
  auto r = cipher_.decrypt_with_ad(handshake_hash(), ciphertext, out);
  if (!r) return r;
  mix_hash(ciphertext);
  return {};
}

std::pair<CipherState, CipherState> SymmetricState::split() const {
  SecretArray<2 * kMaxHashLen> out;
  noise_hkdf(hash_, ck_.view().first(hlen_), {}, 2, out.data());
  CipherState c1(cipher_.kind()), c2(cipher_.kind());
  c1.initialize_key(out.view().first(32));
  c2.initialize_key(out.view().subspan(hlen_, 32));
  return {std::move(c1), std::move(c2)};
}

}  // namespace ferry::crypto::noise
