#include "crypto/ratchet_kdf.h"

#include "crypto/kdf.h"

namespace ferry::crypto {
namespace {
constexpr std::string_view kMessageKeysInfo = "WhisperMessageKeys";
constexpr std::string_view kRatchetInfo = "WhisperRatchet";
}  // namespace

ChainStep kdf_chain(const Key32& chain_key) {
  static const uint8_t kSeedInput[1] = {0x01};
  static const uint8_t kChainInput[1] = {0x02};
  ChainStep out;
  hmac_sha256(chain_key.view(), kSeedInput, out.message_seed.data());
  hmac_sha256(chain_key.view(), kChainInput, out.next_chain_key.data());
  return out;
}

MessageKeys kdf_message_keys(const Key32& message_seed) {
  SecretArray<80> okm;
  hkdf_sha256({}, message_seed.view(), as_bytes(kMessageKeysInfo), okm.data(), okm.size());
  MessageKeys out;
  out.cipher_key.assign(okm.view().first(32));
  out.mac_key.assign(okm.view().subspan(32, 32));
  out.iv.assign(okm.view().subspan(64, 16));
  return out;
}

RootStep kdf_root(const Key32& root_key, ByteView dh_output) {
  SecretArray<64> okm;
  hkdf_sha256(root_key.view(), dh_output, as_bytes(kRatchetInfo), okm.data(), okm.size());
  RootStep out;
  out.root_key.assign(okm.view().first(32));
  out.chain_key.assign(okm.view().subspan(32, 32));
  return out;
}

}  // namespace ferry::crypto
