// Containers for secret bytes that wipe themselves (sodium_memzero) when they
// are freed or overwritten, and the constant-time comparison to use on them.
//
// SecretBytes is a std::vector whose allocator zeroes every block before it is
// returned to the heap, so growth, shrink_to_fit and destruction all wipe.
// SecretArray<N> is a fixed-size array that zeroes itself in its destructor.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "crypto/bytes.h"

namespace ferry::crypto {

// sodium_memzero: a wipe the compiler may not optimise away.
void wipe(void* data, size_t len);

// Constant-time equality (sodium_memcmp). Lengths are not secret: different
// lengths compare unequal at once.
bool ct_equal(ByteView a, ByteView b);

// Zeroes each block before handing it back to `Base`. `Base` is a parameter so
// tests can observe that freed memory really was wiped.
template <typename T, typename Base = std::allocator<T>>
struct ZeroingAllocator : Base {
  using value_type = T;
  template <typename U>
  struct rebind {
    using other =
        ZeroingAllocator<U, typename std::allocator_traits<Base>::template rebind_alloc<U>>;
  };

  ZeroingAllocator() = default;
  explicit ZeroingAllocator(const Base& base) : Base(base) {}
  template <typename U, typename B>
  ZeroingAllocator(const ZeroingAllocator<U, B>& other) : Base(static_cast<const B&>(other)) {}

  T* allocate(size_t n) { return std::allocator_traits<Base>::allocate(*this, n); }
  void deallocate(T* p, size_t n) {
    wipe(p, n * sizeof(T));
    std::allocator_traits<Base>::deallocate(*this, p, n);
  }

  template <typename U, typename B>
  bool operator==(const ZeroingAllocator<U, B>&) const {
    return true;
  }
};

using SecretBytes = std::vector<uint8_t, ZeroingAllocator<uint8_t>>;

inline SecretBytes to_secret(ByteView v) {
  return SecretBytes(v.begin(), v.end());
}
inline ByteView view(const SecretBytes& s) {
  return {s.data(), s.size()};
}
// For APIs that take text (SQLite binds): a view, so no unwiped copy is made.
// Like view(), it may be taken of a temporary (chars(x.serialize())), and is
// then good only until the end of that statement.
inline std::string_view chars(const SecretBytes& s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

template <size_t N>
class SecretArray {
 public:
  SecretArray() { bytes_.fill(0); }
  explicit SecretArray(ByteView v) { assign(v); }
  SecretArray(const SecretArray&) = default;
  SecretArray& operator=(const SecretArray&) = default;
  ~SecretArray() { wipe(bytes_.data(), N); }

  // Copies min(N, v.size()) bytes; callers check lengths first.
  void assign(ByteView v) {
    bytes_.fill(0);
    for (size_t i = 0; i < N && i < v.size(); ++i) bytes_[i] = v[i];
  }
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  static constexpr size_t size() { return N; }
  ByteView view() const { return {bytes_.data(), N}; }
  std::span<uint8_t, N> span() { return std::span<uint8_t, N>(bytes_); }
  uint8_t& operator[](size_t i) { return bytes_[i]; }
  const uint8_t& operator[](size_t i) const { return bytes_[i]; }
  bool ct_equals(const SecretArray& other) const { return ct_equal(view(), other.view()); }

 private:
  std::array<uint8_t, N> bytes_;
};

using Key32 = SecretArray<32>;

}  // namespace ferry::crypto
