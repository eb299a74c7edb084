#include "crypto/primitives/dh.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <memory>

#include "crypto/random.h"

namespace ferry::crypto {
namespace {

constexpr size_t kX25519Len = 32;
constexpr size_t kX448Len = 56;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

Result<DhKeyPair> x448_from_private(ByteView priv) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X448, nullptr, priv.data(), priv.size()));
  if (!key) return make_error(Errc::internal, "X448 private key rejected by OpenSSL");
  DhKeyPair kp{DhKind::x448, to_secret(priv), Bytes(kX448Len)};
  size_t len = kX448Len;
  if (EVP_PKEY_get_raw_public_key(key.get(), kp.public_key.data(), &len) != 1 || len != kX448Len) {
    return make_error(Errc::internal, "X448 public key derivation failed");
  }
  return kp;
}

Result<SecretBytes> x448(ByteView priv, ByteView pub) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X448, nullptr, priv.data(), priv.size()));
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X448, nullptr, pub.data(), pub.size()));
  if (!key || !peer) return make_error(Errc::bad_key, "X448 key rejected");
  PkeyCtx ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  SecretBytes out(kX448Len);
  size_t len = out.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != kX448Len) {
    // OpenSSL refuses an all-zero result (low-order public key).
    return make_error(Errc::bad_key, "X448 shared secret is invalid");
  }
  return out;
}

}  // namespace

size_t dh_len(DhKind kind) {
  return kind == DhKind::x25519 ? kX25519Len : kX448Len;
}

Result<DhKeyPair> dh_keypair_from_private(DhKind kind, ByteView private_key) {
  ensure_initialized();
  if (private_key.size() != dh_len(kind)) {
    return make_error(Errc::invalid_argument, "DH private key has the wrong length");
  }
  if (kind == DhKind::x448) return x448_from_private(private_key);
  DhKeyPair kp{DhKind::x25519, to_secret(private_key), Bytes(kX25519Len)};
  if (crypto_scalarmult_base(kp.public_key.data(), kp.private_key.data()) != 0) {
    return make_error(Errc::internal, "X25519 base point multiplication failed");
  }
  return kp;
}

DhKeyPair dh_generate(DhKind kind) {
  SecretBytes priv(dh_len(kind));
  random_bytes(priv.data(), priv.size());
  auto kp = dh_keypair_from_private(kind, view(priv));
  if (!kp) std::abort();  // fresh random scalars are always valid
  return std::move(kp).value();
}

Result<SecretBytes> dh(const DhKeyPair& local, ByteView remote_public) {
  ensure_initialized();
  size_t len = dh_len(local.kind);
  if (remote_public.size() != len)
    return make_error(Errc::bad_key, "DH public key has the wrong length");
  if (local.private_key.size() != len) {
    return make_error(Errc::invalid_argument, "DH private key has the wrong length");
  }
  if (local.kind == DhKind::x448) return x448(view(local.private_key), remote_public);
  SecretBytes out(kX25519Len);
  // crypto_scalarmult fails when the result is all zeros (low-order point).
  if (crypto_scalarmult(out.data(), local.private_key.data(), remote_public.data()) != 0) {
    return make_error(Errc::bad_key, "X25519 shared secret is all zeros");
  }
  return out;
}

}  // namespace ferry::crypto
