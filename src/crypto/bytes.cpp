#include "crypto/bytes.h"

#include <cstring>

namespace ferry::crypto {

std::string to_hex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

void ByteWriter::u16(uint16_t v) {
  out_.push_back(static_cast<uint8_t>(v >> 8));
  out_.push_back(static_cast<uint8_t>(v));
}

void ByteWriter::u32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<uint8_t>(v >> shift));
}

bool ByteReader::u8(uint8_t& v) {
  if (remaining() < 1) return false;
  v = in_[pos_++];
  return true;
}

bool ByteReader::u16(uint16_t& v) {
  if (remaining() < 2) return false;
  v = static_cast<uint16_t>(in_[pos_] << 8 | in_[pos_ + 1]);
  pos_ += 2;
  return true;
}

bool ByteReader::u32(uint32_t& v) {
  if (remaining() < 4) return false;
  v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | in_[pos_ + i];
  pos_ += 4;
  return true;
}

bool ByteReader::take(size_t n, ByteView& v) {
  if (remaining() < n) return false;
  v = in_.subspan(pos_, n);
  pos_ += n;
  return true;
}

bool ByteReader::copy_to(uint8_t* dst, size_t n) {
  if (remaining() < n) return false;
  if (n > 0) std::memcpy(dst, in_.data() + pos_, n);
  pos_ += n;
  return true;
}

}  // namespace ferry::crypto
