// Noise HandshakeState (rev 34 section 5.3): the generic engine that runs any
// pattern from pattern.h. No I/O: write_message returns bytes to send,
// read_message takes bytes received.
//
// After any error the state is failed and every further call returns
// Errc::invalid_state (the spec: delete the HandshakeState).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/bytes.h"
#include "crypto/noise/cipher_state.h"
#include "crypto/noise/protocol.h"
#include "crypto/noise/symmetric_state.h"
#include "crypto/primitives/dh.h"
#include "crypto/result.h"
#include "crypto/secret.h"

namespace ferry::crypto::noise {

enum class Role : uint8_t { initiator, responder };

struct HandshakeConfig {
  Role role = Role::initiator;
  Bytes prologue;
  std::optional<DhKeyPair> s;  // local static key pair
  // Local ephemeral. Required when the pattern lists "e" in our pre-message
  // (XXfallback responder). Otherwise, if set, it is used instead of a fresh
  // key at our "e" token: test vectors do that, and Noise Pipes, which must
  // reuse the IK ephemeral if the server falls back.
  std::optional<DhKeyPair> e;
  std::optional<Bytes> rs;  // remote static public key known in advance
  std::optional<Bytes> re;  // remote ephemeral known in advance (XXfallback initiator)
  // One 32-byte PSK per "psk" token, consumed in pattern order (the same PSK
  // repeated if the pattern has several). For NoisePSK_ names: exactly one.
  std::vector<SecretBytes> psks;
};

// The two transport CipherStates from the point of view of one party.
struct Transport {
  CipherState send;
  CipherState recv;
};

class HandshakeState {
 public:
  // Errc::invalid_argument if a key the pattern needs is missing or has the
  // wrong length, or the PSK count or length is wrong.
  static Result<HandshakeState> create(const Protocol& protocol, HandshakeConfig config);
  static Result<HandshakeState> create(std::string_view protocol_name, HandshakeConfig config);

  // WriteMessage(payload): the whole handshake message (<= 65535 bytes).
  Result<Bytes> write_message(ByteView payload);
  // ReadMessage(message): the decrypted payload.
  Result<Bytes> read_message(ByteView message);

  bool needs_write() const;  // our turn to write (and not complete, not failed)
  bool needs_read() const;
  bool is_complete() const { return complete_; }
  bool failed() const { return failed_; }
  size_t messages_done() const { return next_message_; }

  // Split() as (c1, c2) in the spec's order: c1 encrypts initiator->responder.
  // Errc::invalid_state before the handshake is complete.
  Result<std::pair<CipherState, CipherState>> split_pair() const;
  // Split() as (send, recv) for our role. For one-way patterns the responder's
  // `send` has no key (sending would violate the pattern).
  Result<Transport> split() const;

  ByteView handshake_hash() const { return symmetric_.handshake_hash(); }
  std::optional<ByteView> remote_static() const;
  std::optional<ByteView> remote_ephemeral() const;
  std::optional<ByteView> local_ephemeral_public() const;
  const Protocol& protocol() const { return protocol_; }
  Role role() const { return role_; }

 private:
  HandshakeState(const Protocol& protocol, HandshakeConfig&& config);
  bool my_message(size_t index) const;
  Result<void> mix_dh(const std::optional<DhKeyPair>& local, const std::optional<Bytes>& remote);
  Result<void> process_dh(Token t);
  Result<void> write_tokens(const std::vector<Token>& tokens, Bytes& out);
  Result<void> read_tokens(const std::vector<Token>& tokens, ByteReader& in);
  Result<void> mix_next_psk();
  void finish_message();

  Protocol protocol_;
  Role role_;
  SymmetricState symmetric_;
  std::optional<DhKeyPair> s_, e_;
  std::optional<Bytes> rs_, re_;
  bool e_preset_ = false;  // e was supplied for our "e" token (test vectors)
  std::vector<SecretBytes> psks_;
  size_t next_psk_ = 0;
  size_t next_message_ = 0;
  bool complete_ = false;
  bool failed_ = false;
};

}  // namespace ferry::crypto::noise
