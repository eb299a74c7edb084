// Noise Pipes (rev 34 section 10.4) between a Ferry client and server:
//
//   full handshake      XX          client has no pinned server key
//   zero-RTT handshake  IK          client has the server's static key pinned
//   switch handshake    XXfallback  server could not decrypt the IK message
//
// Every handshake message on the wire is one type byte followed by the Noise
// message, so each side knows which protocol the other is running:
//   0x00  Noise_XX_25519_ChaChaPoly_SHA256          (messages 1-3 of XX)
//   0x01  Noise_IK_25519_ChaChaPoly_SHA256          (messages 1-2 of IK)
//   0x02  Noise_XXfallback_25519_ChaChaPoly_SHA256  (server's reply to a failed
//         IK and the client's final message)
// docs/protocol.md, Part 2, specifies the bytes. No I/O here.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "crypto/bytes.h"
#include "crypto/noise/handshake_state.h"
#include "crypto/primitives/dh.h"
#include "crypto/result.h"

namespace ferry::crypto::noise {

inline constexpr std::string_view kPipesXX = "Noise_XX_25519_ChaChaPoly_SHA256";
inline constexpr std::string_view kPipesIK = "Noise_IK_25519_ChaChaPoly_SHA256";
inline constexpr std::string_view kPipesXXfallback = "Noise_XXfallback_25519_ChaChaPoly_SHA256";
// The prologue Ferry's client and server use (both sides must agree).
inline constexpr std::string_view kFerryPrologue = "ferry/noise-pipes/1";

enum class PipesType : uint8_t { xx = 0x00, ik = 0x01, xx_fallback = 0x02 };

// The largest handshake payload: the frame body (type byte + Noise message)
// stays within 65535 bytes for every Pipes message (at most 96 bytes of keys
// and tags besides the payload).
inline constexpr size_t kMaxPipesPayload = 65535 - 1 - 96;

enum class PinPolicy : uint8_t {
  // After a fallback, a server static key different from the pinned one fails
  // the handshake (Errc::bad_key). What Ferry clients use: a proxy in the
  // middle cannot make the client accept another key by breaking IK.
  strict,
  // Complete the handshake and let the application compare remote_static()
  // with its pin (server_key_changed() says whether it differs).
  report,
};

// The client side. Call write_message / read_message in turn until
// is_complete(), then split().
class PipesInitiator {
 public:
  // local_static: the client's X25519 key pair (its login). pinned_server:
  // the server's 32-byte static public key if known (IK), else nullopt (XX).
  static Result<PipesInitiator> create(DhKeyPair local_static, std::optional<Bytes> pinned_server,
                                       ByteView prologue, PinPolicy policy = PinPolicy::strict);

  // Returns type byte || Noise handshake message.
  Result<Bytes> write_message(ByteView payload);
  // Takes type byte || Noise handshake message; returns the payload. A type
  // the current state does not allow is Errc::malformed.
  Result<Bytes> read_message(ByteView message);

  bool needs_write() const { return !failed() && (!hs_ || hs_->needs_write()); }
  bool needs_read() const { return hs_ && hs_->needs_read() && !failed_; }
  bool is_complete() const { return hs_ && hs_->is_complete(); }
  bool failed() const { return failed_ || (hs_ && hs_->failed()); }
  PipesType mode() const { return mode_; }
  // The server fell back: the payload of the IK message was never read by
  // the server and must be sent again after the handshake if it mattered.
  bool early_data_lost() const { return mode_ == PipesType::xx_fallback; }
  bool server_key_changed() const { return key_changed_; }

  std::optional<ByteView> remote_static() const;
  ByteView handshake_hash() const;
  // send: client -> server, recv: server -> client.
  Result<Transport> split() const;

 private:
  PipesInitiator() = default;
  std::optional<HandshakeState> hs_;
  DhKeyPair static_;
  DhKeyPair ephemeral_;  // kept for XXfallback, where it is a pre-message
  std::optional<Bytes> pinned_;
  Bytes prologue_;
  PinPolicy policy_ = PinPolicy::strict;
  PipesType mode_ = PipesType::xx;
  bool key_changed_ = false;
  bool failed_ = false;
};

// The server side: reads the first message, whatever type it is.
class PipesResponder {
 public:
  static Result<PipesResponder> create(DhKeyPair local_static, ByteView prologue);

  Result<Bytes> write_message(ByteView payload);
  Result<Bytes> read_message(ByteView message);

  bool needs_write() const { return hs_ && hs_->needs_write() && !failed_; }
  bool needs_read() const { return !failed() && (!hs_ || hs_->needs_read()); }
  bool is_complete() const { return hs_ && hs_->is_complete(); }
  bool failed() const { return failed_ || (hs_ && hs_->failed()); }
  PipesType mode() const { return mode_; }

  // The client's static public key (its identity) once received.
  std::optional<ByteView> remote_static() const;
  ByteView handshake_hash() const;
  // send: server -> client, recv: client -> server.
  Result<Transport> split() const;

 private:
  PipesResponder() = default;
  Result<Bytes> read_first(ByteView message);
  std::optional<HandshakeState> hs_;
  DhKeyPair static_;
  Bytes prologue_;
  PipesType mode_ = PipesType::xx;
  bool failed_ = false;
};

}  // namespace ferry::crypto::noise
