// One Noise channel to the server over a Transport: the Pipes handshake (IK
// with the pinned server key, XX without one), then framed, encrypted
// Requests out and Responses (answers and pushes) in. Blocking, with
// deadlines; reading continues while writing so neither side can fill the
// other's buffers and stall.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "chat/client/transport.h"
#include "chat/proto/messages.h"
#include "chat/wire/frame.h"
#include "crypto/noise/handshake_state.h"
#include "crypto/primitives/dh.h"

namespace ferry::chat::client {

class Connection {
 public:
  // Throws ClientError: unreachable (connect, EOF), error (the server's key
  // is not the pinned one, or the handshake failed).
  static std::unique_ptr<Connection> open(const Target& target, const crypto::DhKeyPair& login,
                                          const std::string& pinned_key, uint64_t deadline_ms);

  // The server's static key (the pinned one, or the one XX revealed).
  const std::string& server_key() const { return server_key_; }

  // Encrypts and queues `request`, giving it a fresh id (returned).
  uint64_t queue(pb::Request& request);
  // Writes everything queued (reading meanwhile). Throws on timeout.
  void flush(uint64_t deadline_ms);
  // The next answer or push; nullopt if none came before the deadline.
  std::optional<pb::Response> next(uint64_t deadline_ms);
  // What is already decoded, without waiting.
  std::optional<pb::Response> next_now();
  // One round of I/O without blocking (for a caller polling fd() itself).
  void pump_now();

  int fd() const { return transport_->fd(); }
  bool has_buffered() const { return !inbox_.empty() || transport_->has_buffered(); }
  size_t queued_bytes() const { return out_.size() - out_sent_; }
  const Target& target() const { return transport_->target(); }

 private:
  explicit Connection(std::unique_ptr<Transport> t) : transport_(std::move(t)) {}
  void handshake(const crypto::DhKeyPair& login, const std::string& pinned, uint64_t deadline_ms);
  void send_frame(std::span<const uint8_t> body);
  // Reads and decodes whatever is there; returns true if anything was read.
  bool read_available(bool handshake_frames);
  bool write_available();
  void wait_io(uint64_t deadline_ms);
  [[noreturn]] void protocol_error(const std::string& what) const;
  // Queues a decoded response; a server that sends far more than it may
  // (the delivery window of 1024 envelopes of at most 64 KiB, plus the
  // answers to at most 256 requests in flight) is a protocol error, not a
  // reason to grow without bound.
  static constexpr size_t kMaxInboxBytes = size_t{128} << 20;
  void to_inbox(pb::Response&& r, size_t plain_bytes);

  std::unique_ptr<Transport> transport_;
  std::optional<crypto::noise::Transport> noise_;
  std::string server_key_;
  wire::FrameDecoder decoder_;
  std::deque<crypto::Bytes> handshake_frames_;
  struct Inbound {
    pb::Response response;
    size_t bytes;  // its plaintext size
  };
  std::deque<Inbound> inbox_;
  size_t inbox_bytes_ = 0;  // the sum of their bytes
  crypto::Bytes out_;
  size_t out_sent_ = 0;
  uint64_t next_id_ = 1;
};

}  // namespace ferry::chat::client
