// Errors as values. Every function that takes bytes from outside (the network,
// a file, another process) returns Result<T>; bad input is an Error, never an
// exception or a crash. g++ 12 has no std::expected, hence this small type.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <variant>

namespace ferry::crypto {

enum class Errc : uint8_t {
  invalid_argument,  // the caller passed something unusable (wrong key length, ...)
  malformed,         // bytes do not parse as the expected format
  unsupported,       // a protocol name, version or algorithm we do not implement
  auth_failed,       // AEAD tag, MAC or signature check failed
  bad_key,           // a public key was rejected (wrong length, low order, invalid point)
  invalid_state,     // the call is not allowed now (handshake over, failed, wrong turn)
  nonce_exhausted,   // a Noise CipherState reached nonce 2^64-1
  too_large,         // a length bound would be exceeded (65535-byte Noise message, ...)
  replayed,          // the message key was already used or deleted (duplicate message)
  too_many_skipped,  // a message would skip more keys than the bound allows
  internal,          // a primitive library failed unexpectedly
};

std::string_view to_string(Errc code);

struct Error {
  Errc code;
  // A static, human-readable detail. Never contains key material.
  std::string_view detail;
};

inline Error make_error(Errc code, std::string_view detail) {
  return Error{code, detail};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, error) {}         // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Calling value() on an error is a programming mistake, not bad input: abort.
  T& value() & { return ok() ? std::get<0>(v_) : die(); }
  const T& value() const& { return ok() ? std::get<0>(v_) : die(); }
  T&& value() && { return ok() ? std::move(std::get<0>(v_)) : std::move(die()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    if (ok()) std::abort();
    return std::get<1>(v_);
  }
  Errc code() const { return error().code; }

 private:
  [[noreturn]] static T& die() { std::abort(); }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(error), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    if (ok_) std::abort();
    return err_;
  }
  Errc code() const { return error().code; }

 private:
  Error err_{Errc::internal, ""};
  bool ok_ = true;
};

}  // namespace ferry::crypto
