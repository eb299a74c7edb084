#include "crypto/noise/framing.h"

namespace ferry::crypto::noise {

Result<void> append_frame(Bytes& out, ByteView body) {
  if (body.size() > kMaxFrameBody)
    return make_error(Errc::too_large, "frame body over 65535 bytes");
  out.push_back(static_cast<uint8_t>(body.size() >> 8));
  out.push_back(static_cast<uint8_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return {};
}

Result<void> FrameReader::feed(ByteView data) {
  if (data.size() > kMaxBuffered - buffered()) {
    return make_error(Errc::too_large, "too many unread bytes buffered");
  }
  // Drop consumed bytes before growing, so the buffer stays bounded.
  if (start_ > 0) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  buf_.insert(buf_.end(), data.begin(), data.end());
  return {};
}

std::optional<Bytes> FrameReader::next() {
  if (buffered() < kFrameHeaderLen) return std::nullopt;
  size_t len = static_cast<size_t>(buf_[start_]) << 8 | buf_[start_ + 1];
  if (buffered() < kFrameHeaderLen + len) return std::nullopt;
  auto first = buf_.begin() + static_cast<std::ptrdiff_t>(start_ + kFrameHeaderLen);
  Bytes body(first, first + static_cast<std::ptrdiff_t>(len));
  start_ += kFrameHeaderLen + len;
  if (start_ == buf_.size()) {
    buf_.clear();
    start_ = 0;
  }
  return body;
}

}  // namespace ferry::crypto::noise
