// Signal's chain-key vector (libsignal-protocol-c test_ratchet.c, v3).
#include "crypto/ratchet_kdf.h"

#include <gtest/gtest.h>

#include "crypto/kdf.h"
#include "crypto/vectors/json.h"
#include "test_util.h"

namespace ferry::crypto {
namespace {

std::string field(const json::Value& v, const char* name) {
  const json::Value* f = v.find(name);
  return f != nullptr && f->is(json::Value::Type::string) ? f->string : "";
}

TEST(RatchetKdf, SignalChainKeyVectorV3) {
  auto doc = json::parse(test::read_text(test::shared_path("vectors/signal/chain-key-v3.json")));
  ASSERT_TRUE(doc);
  Key32 ck(test::hex(field(*doc, "chain_key")));
  ChainStep step = kdf_chain(ck);
  MessageKeys keys = kdf_message_keys(step.message_seed);
  EXPECT_EQ(to_hex(keys.cipher_key.view()), field(*doc, "cipher_key"));
  EXPECT_EQ(to_hex(keys.mac_key.view()), field(*doc, "mac_key"));
  EXPECT_EQ(to_hex(keys.iv.view()), field(*doc, "iv"));
  EXPECT_EQ(to_hex(step.next_chain_key.view()), field(*doc, "next_chain_key"));
  EXPECT_FALSE(field(*doc, "cipher_key").empty());
}

TEST(RatchetKdf, RootStepIsHkdfWithRootKeyAsSalt) {
  Key32 rk(Bytes(32, 1));
  Bytes dh_out(32, 2);
  RootStep s = kdf_root(rk, dh_out);
  uint8_t expect[64];
  hkdf_sha256(rk.view(), dh_out, as_bytes("WhisperRatchet"), expect, 64);
  EXPECT_EQ(to_hex(s.root_key.view()), to_hex(ByteView(expect, 32)));
  EXPECT_EQ(to_hex(s.chain_key.view()), to_hex(ByteView(expect + 32, 32)));
}

}  // namespace
}  // namespace ferry::crypto
