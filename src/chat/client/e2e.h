// End-to-end encryption for one user: Double Ratchet sessions with each
// contact (started with X3DH from a prekey bundle, or accepted from a prekey
// message), kept in the ClientStore. The identity of each contact is pinned
// on first contact; a different key is never used silently.
//
// Several sessions per contact may exist (both sides starting at once, or a
// peer who re-installed): decryption tries them newest first, and the one
// that works becomes the one used to send. Callers wrap calls in a
// db::Transaction with whatever else belongs to the same step.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "chat/client/store.h"
#include "crypto/keys.h"
#include "crypto/prekeys.h"

namespace ferry::chat::client {

class E2E {
 public:
  E2E(ClientStore& store, const crypto::IdentityKeyPair& me) : store_(store), me_(me) {}

  bool has_session(const std::string& peer);
  // Checks the bundle's identity against the contact (new contact: pinned
  // now), then starts a session. Throws ClientError(identity_changed).
  void start_session(const std::string& peer, const crypto::PrekeyBundle& bundle);
  // Encrypts with the newest session; nullopt if there is none.
  std::optional<std::string> seal(const std::string& peer, std::string_view plaintext);

  enum class Status : uint8_t { ok, duplicate, identity_changed, undecryptable };
  struct Opened {
    Status status = Status::undecryptable;
    std::string plaintext;
  };
  Opened open(const std::string& sender, std::string_view message);

 private:
  Opened accept_prekey_message(const std::string& sender, std::string_view message);

  ClientStore& store_;
  const crypto::IdentityKeyPair& me_;
};

}  // namespace ferry::chat::client
