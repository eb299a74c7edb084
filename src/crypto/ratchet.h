// End-to-end sessions: X3DH to start, then the Double Ratchet (Signal's
// specification, section 3) with Signal's KDF parameters (ratchet_kdf.h).
//
// Messages are encrypt-then-MAC: AES-256-CBC under the message's cipher key
// and IV, then HMAC-SHA256 under its MAC key over AD || header || ciphertext,
// checked in constant time before anything is decrypted. Until the initiator
// has received a reply, each of its messages is wrapped in a "prekey message"
// that carries what the receiver needs to finish X3DH.
// docs/protocol.md, Part 3, specifies the bytes.
//
// Failure never changes the state: a message that does not authenticate, or
// is a duplicate, or skips too far, is refused and the session goes on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "crypto/bytes.h"
#include "crypto/keys.h"
#include "crypto/prekeys.h"
#include "crypto/primitives/dh.h"
#include "crypto/result.h"
#include "crypto/secret.h"

namespace ferry::crypto {

inline constexpr uint8_t kRatchetVersion = 1;
// At most this many message keys are skipped by one message, and at most
// this many skipped keys are kept in all (the oldest go first).
inline constexpr uint32_t kMaxSkippedKeys = 2000;
// Bound on a plaintext, so a decrypt never allocates without limit.
inline constexpr size_t kMaxRatchetPlaintext = 1 << 20;
// How many previous receiving ratchet keys are remembered (to name replays).
inline constexpr size_t kMaxOldRatchetKeys = 5;

enum class RatchetMessageType : uint8_t { normal = 0x01, prekey = 0x02 };

// What a receiver needs to pick the keys for a prekey message.
struct PrekeyMessageInfo {
  IdentityPublicKey sender_identity;
  PublicKey base_key{};  // the sender's X3DH ephemeral EK_A
  uint32_t signed_prekey_id = 0;
  std::optional<uint32_t> one_time_prekey_id;
};

Result<RatchetMessageType> peek_message_type(ByteView message);
Result<PrekeyMessageInfo> parse_prekey_message(ByteView message);

struct AcceptedSession;

class RatchetSession {
 public:
  // The sender's side: X3DH from the bundle (signature verified), then the
  // ratchet. The first encrypt() output is a prekey message.
  static Result<RatchetSession> initiate(const IdentityKeyPair& ours, const PrekeyBundle& theirs);
  // The receiver's side, from a prekey message; the caller looked up the keys
  // named by parse_prekey_message() and deletes the one-time prekey after
  // success. Returns the session and the first plaintext.
  static Result<AcceptedSession> accept(const IdentityKeyPair& ours,
                                        const SignedPrekeyPair& signed_prekey,
                                        const OneTimePrekeyPair* one_time_prekey,
                                        ByteView prekey_message);

  Result<Bytes> encrypt(ByteView plaintext);
  // Errc::auth_failed, Errc::replayed (duplicate or key already deleted),
  // Errc::too_many_skipped, Errc::malformed, or Errc::invalid_state for a
  // prekey message that belongs to another session.
  Result<Bytes> decrypt(ByteView message);

  // The whole state (keys included); restore with deserialize().
  SecretBytes serialize() const;
  static Result<RatchetSession> deserialize(ByteView bytes);

  const IdentityPublicKey& local_identity() const { return local_identity_; }
  const IdentityPublicKey& remote_identity() const { return remote_identity_; }
  bool is_initiator() const { return initiator_; }
  // The initiator wraps its messages in prekey messages until it has
  // decrypted one from the other side.
  bool awaiting_reply() const { return pending_prekey_.has_value(); }
  size_t skipped_key_count() const { return skipped_.size(); }

 private:
  struct PrekeyInfo {
    PublicKey base_key{};
    uint32_t signed_prekey_id = 0;
    std::optional<uint32_t> one_time_prekey_id;
    bool operator==(const PrekeyInfo&) const = default;
  };
  struct SkippedKey {
    PublicKey ratchet_key{};
    uint32_t n = 0;
    Key32 seed;  // the message seed; the keys are derived from it on use
  };
  // Everything a decrypt may change, copied so a failure changes nothing.
  struct Chains {
    Key32 root;
    DhKeyPair ratchet;                // DHs
    std::optional<PublicKey> remote;  // DHr
    std::optional<Key32> send;        // CKs
    std::optional<Key32> recv;        // CKr
    uint32_t send_n = 0;              // Ns
    uint32_t recv_n = 0;              // Nr
    uint32_t prev_send_n = 0;         // PN
    // The last few DHr we moved away from: a message on one of those chains
    // whose key is not among the skipped keys is a replay, refused at once.
    std::vector<PublicKey> old_remotes;
  };

  RatchetSession(const IdentityPublicKey& local, const IdentityPublicKey& remote)
      : local_identity_(local), remote_identity_(remote) {}
  Result<Bytes> decrypt_normal(ByteView message);
  Bytes associated_data() const;
  static Result<void> skip_keys(Chains& c, uint32_t until, std::vector<SkippedKey>& fresh);
  void keep_skipped(std::vector<SkippedKey>&& fresh);

  IdentityPublicKey local_identity_;
  IdentityPublicKey remote_identity_;
  bool initiator_ = false;
  Chains st_;
  std::optional<PrekeyInfo> pending_prekey_;   // initiator, until a reply arrives
  std::optional<PrekeyInfo> accepted_prekey_;  // responder: the prekey message it accepted
  std::vector<SkippedKey> skipped_;            // oldest first, at most kMaxSkippedKeys
};

struct AcceptedSession {
  RatchetSession session;
  Bytes plaintext;
};

}  // namespace ferry::crypto
