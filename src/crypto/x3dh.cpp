#include "crypto/x3dh.h"

#include <algorithm>

#include "crypto/kdf.h"

namespace ferry::crypto {
namespace {

// SK = HKDF(salt = 32 zero bytes, ikm = 0xFF x 32 || DH1 || ... , info).
// `dhs` are the DH outputs in order; any failed DH fails the agreement.
Result<Key32> derive(std::initializer_list<Result<SecretBytes>*> dhs) {
  SecretBytes ikm(32, 0xFF);
  for (auto* r : dhs) {
    if (!*r) return r->error();
    ikm.insert(ikm.end(), (*r)->begin(), (*r)->end());
  }
  Key32 sk;
  hkdf_sha256({}, view(ikm), as_bytes(kX3dhInfo), sk.data(), sk.size());
  return sk;
}

Bytes associated_data(const IdentityPublicKey& a, const IdentityPublicKey& b) {
  Bytes ad(a.bytes().begin(), a.bytes().end());
  ad.insert(ad.end(), b.bytes().begin(), b.bytes().end());
  return ad;
}

}  // namespace

Result<X3dhInitiation> x3dh_initiate(const IdentityKeyPair& ours, const PrekeyBundle& theirs) {
  return x3dh_initiate(ours, theirs, dh_generate(DhKind::x25519));
}

Result<X3dhInitiation> x3dh_initiate(const IdentityKeyPair& ours, const PrekeyBundle& theirs,
                                     const DhKeyPair& ephemeral) {
  if (ephemeral.kind != DhKind::x25519)
    return make_error(Errc::invalid_argument, "X3DH uses X25519");
  // Never use a signed prekey whose signature does not verify.
  if (auto v = theirs.verify(); !v) return v.error();
  const PublicKey& spk = theirs.signed_prekey.public_key;
  auto dh1 = dh(ours.agreement(), spk);
  auto dh2 = dh(ephemeral, theirs.identity.x25519());
  auto dh3 = dh(ephemeral, spk);
  Result<Key32> sk = make_error(Errc::internal, "");
  if (theirs.one_time_prekey) {
    auto dh4 = dh(ephemeral, theirs.one_time_prekey->public_key);
    sk = derive({&dh1, &dh2, &dh3, &dh4});
  } else {
    sk = derive({&dh1, &dh2, &dh3});
  }
  if (!sk) return sk.error();
  X3dhInitiation out;
  out.shared_key = *sk;
  out.associated_data = associated_data(ours.public_key(), theirs.identity);
  std::copy_n(ephemeral.public_key.begin(), kKeyLen, out.ephemeral_public.begin());
  out.signed_prekey_id = theirs.signed_prekey.id;
  if (theirs.one_time_prekey) out.one_time_prekey_id = theirs.one_time_prekey->id;
  out.remote_signed_prekey = spk;
  return out;
}

Result<X3dhResponse> x3dh_respond(const IdentityKeyPair& ours,
                                  const SignedPrekeyPair& signed_prekey,
                                  const OneTimePrekeyPair* one_time_prekey,
                                  const IdentityPublicKey& their_identity,
                                  ByteView their_ephemeral) {
  if (their_ephemeral.size() != kKeyLen)
    return make_error(Errc::bad_key, "ephemeral key must be 32 bytes");
  auto dh1 = dh(signed_prekey.key, their_identity.x25519());
  auto dh2 = dh(ours.agreement(), their_ephemeral);
  auto dh3 = dh(signed_prekey.key, their_ephemeral);
  Result<Key32> sk = make_error(Errc::internal, "");
  if (one_time_prekey != nullptr) {
    auto dh4 = dh(one_time_prekey->key, their_ephemeral);
    sk = derive({&dh1, &dh2, &dh3, &dh4});
  } else {
    sk = derive({&dh1, &dh2, &dh3});
  }
  if (!sk) return sk.error();
  return X3dhResponse{*sk, associated_data(their_identity, ours.public_key())};
}

}  // namespace ferry::crypto
