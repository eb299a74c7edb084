#include "chat/wire/frame.h"

#include <algorithm>

namespace ferry::chat::wire {

bool append_frame(std::string& out, std::span<const uint8_t> payload) {
  if (payload.empty() || payload.size() > kMaxFrame) return false;
  out.push_back(static_cast<char>(payload.size() >> 8));
  out.push_back(static_cast<char>(payload.size() & 0xff));
  out.append(reinterpret_cast<const char*>(payload.data()), payload.size());
  return true;
}

FrameDecoder::FrameDecoder(size_t max_frame) : max_frame_(std::min(max_frame, kMaxFrame)) {}

FrameDecoder::Result FrameDecoder::fail(const char* why) {
  error_ = why;
  buffer_.clear();
  buffer_.shrink_to_fit();
  return {Status::error, {}, why};
}

const char* FrameDecoder::check_length(size_t length) const {
  if (length == 0) return "empty frame";
  if (length > max_frame_) return "frame too large";
  return nullptr;
}

FrameDecoder::Result FrameDecoder::next(std::span<const uint8_t>& input) {
  if (error_) return {Status::error, {}, error_};
  if (release_) {
    // The frame handed out last time lived in buffer_; give its memory back so
    // an idle connection holds none.
    release_ = false;
    buffer_.clear();
    buffer_.shrink_to_fit();
    want_ = 0;
  }

  if (buffer_.empty()) {
    // Fast path: the whole frame is in the input.
    if (input.size() >= kLengthSize) {
      size_t length = (size_t{input[0]} << 8) | input[1];
      if (const char* why = check_length(length)) return fail(why);
      if (input.size() >= kLengthSize + length) {
        auto frame = input.subspan(kLengthSize, length);
        input = input.subspan(kLengthSize + length);
        return {Status::frame, frame, ""};
      }
      want_ = length;
      buffer_.reserve(kLengthSize + length);
    }
    if (input.empty()) return {Status::need_more, {}, ""};
  }

  // Slow path: gather the frame in buffer_.
  if (buffer_.size() < kLengthSize) {
    auto head = input.first(std::min(kLengthSize - buffer_.size(), input.size()));
    buffer_.insert(buffer_.end(), head.begin(), head.end());
    input = input.subspan(head.size());
    if (buffer_.size() < kLengthSize) return {Status::need_more, {}, ""};
    size_t length = (size_t{buffer_[0]} << 8) | buffer_[1];
    if (const char* why = check_length(length)) return fail(why);
    want_ = length;
    buffer_.reserve(kLengthSize + length);
  }
  size_t missing = kLengthSize + want_ - buffer_.size();
  auto part = input.first(std::min(missing, input.size()));
  buffer_.insert(buffer_.end(), part.begin(), part.end());
  input = input.subspan(part.size());
  if (part.size() < missing) return {Status::need_more, {}, ""};
  release_ = true;
  return {Status::frame, std::span<const uint8_t>(buffer_).subspan(kLengthSize), ""};
}

}  // namespace ferry::chat::wire
