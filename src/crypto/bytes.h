// Byte containers and the small big-endian reader/writer every encoder in the
// crypto layer uses. The reader never reads past its end: each accessor
// returns false (or nullopt) instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::crypto {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string to_hex(ByteView bytes);
// Accepts upper or lower case; nullopt for odd length or a non-hex digit.
std::optional<Bytes> from_hex(std::string_view hex);

// Appends big-endian integers and raw bytes.
class ByteWriter {
 public:
  explicit ByteWriter(Bytes& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v);
  void u32(uint32_t v);
  void bytes(ByteView v) { out_.insert(out_.end(), v.begin(), v.end()); }

 private:
  Bytes& out_;
};

// Reads big-endian integers and fixed-length byte runs from an untrusted buffer.
class ByteReader {
 public:
  explicit ByteReader(ByteView in) : in_(in) {}
  bool u8(uint8_t& v);
  bool u16(uint16_t& v);
  bool u32(uint32_t& v);
  // A view of the next n bytes (no copy); false if fewer remain.
  bool take(size_t n, ByteView& v);
  bool copy_to(uint8_t* dst, size_t n);
  ByteView rest() const { return in_.subspan(pos_); }
  size_t remaining() const { return in_.size() - pos_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  ByteView in_;
  size_t pos_ = 0;
};

}  // namespace ferry::crypto
