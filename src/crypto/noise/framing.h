// Framing of Noise messages on a byte stream: a 2-byte big-endian length and
// then that many bytes (rev 34 section 13). A frame carries one Noise
// transport message, or one Pipes handshake message (type byte + Noise
// message). No I/O: the caller feeds bytes it read and sends bytes it gets.
#pragma once

#include <cstddef>
#include <optional>

#include "crypto/bytes.h"
#include "crypto/result.h"

namespace ferry::crypto::noise {

inline constexpr size_t kFrameHeaderLen = 2;
inline constexpr size_t kMaxFrameBody = 65535;

// Appends length || body to `out`. Errc::too_large if body exceeds 65535.
Result<void> append_frame(Bytes& out, ByteView body);

// Reassembles frames from arbitrary chunks of a stream.
class FrameReader {
 public:
  // At most this many unconsumed bytes are held; feeding more without
  // draining next() is Errc::too_large.
  static constexpr size_t kMaxBuffered = 4 * (kMaxFrameBody + kFrameHeaderLen);

  Result<void> feed(ByteView data);
  // The next complete frame body, or nullopt until more bytes arrive.
  std::optional<Bytes> next();
  size_t buffered() const { return buf_.size() - start_; }

 private:
  Bytes buf_;
  size_t start_ = 0;
};

}  // namespace ferry::crypto::noise
