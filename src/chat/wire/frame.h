// The messenger's framing: every frame is a 2-byte big-endian length, then
// that many bytes (one Noise message). Strict: a length of 0 or above the
// connection's limit is an error, never a guess; nothing else is allowed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ferry::chat::wire {

inline constexpr size_t kLengthSize = 2;
inline constexpr size_t kMaxFrame = 65535;  // what 2 bytes can say, and Noise's limit

// Appends one frame to `out`. Returns false (and appends nothing) when the
// payload is empty or longer than kMaxFrame.
bool append_frame(std::string& out, std::span<const uint8_t> payload);

// Splits a byte stream into frames. Feed it whatever arrived; it returns
// complete frames one at a time, pointing into the input when the frame is
// there whole (no copy) and into its own buffer only for a frame that arrived
// in pieces. Holds no memory between frames.
class FrameDecoder {
 public:
  enum class Status : uint8_t { frame, need_more, error };
  struct Result {
    Status status = Status::need_more;
    std::span<const uint8_t> frame;  // valid until the next call to next() or reset()
    const char* error = "";          // static text when status == error
  };

  explicit FrameDecoder(size_t max_frame = kMaxFrame);

  // Takes bytes from the front of `input` (advancing it) until it has one
  // frame, or input is used up (need_more). After an error every call
  // returns the same error.
  Result next(std::span<const uint8_t>& input);

  // Bytes of a frame received in part (0 between frames).
  size_t partial_bytes() const { return release_ ? 0 : buffer_.size(); }
  bool failed() const { return error_ != nullptr; }
  size_t max_frame() const { return max_frame_; }
  void set_max_frame(size_t max_frame) { max_frame_ = max_frame; }

 private:
  Result fail(const char* why);
  const char* check_length(size_t length) const;

  size_t max_frame_;
  std::vector<uint8_t> buffer_;  // a frame in pieces: its 2 length bytes, then the body
  size_t want_ = 0;              // body length of the frame in buffer_, once known
  bool release_ = false;         // buffer_ held the frame last returned
  const char* error_ = nullptr;
};

}  // namespace ferry::chat::wire
