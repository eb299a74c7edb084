// Structured logging: one logfmt line per event on stderr.
//
//   log::info("listener_started", {{"listen", "[::]:443"}, {"tls", true}});
//   -> ts=2026-11-25T10:53:15.123Z level=info event=listener_started listen=[::]:443 tls=true
//
// Client addresses are never passed here unless the operator asked for them
// (log_client_addresses); callers use log::client_address() which honours that.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace ferry::log {

enum class Level : uint8_t { debug, info, warn, error };

struct Field {
  using Value = std::variant<std::string_view, int64_t, uint64_t, double, bool>;
  std::string_view key;
  Value value;

  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <typename T>
  requires std::is_integral_v<T> && std::is_signed_v<T> Field(std::string_view k, T v)
      : key(k), value(static_cast<int64_t>(v)) {}
  template <typename T>
  requires std::is_integral_v<T> && std::is_unsigned_v<T> &&
      (!std::is_same_v<T, bool>)Field(std::string_view k, T v)
      : key(k), value(static_cast<uint64_t>(v)) {}
};

using Fields = std::initializer_list<Field>;

void set_level(Level level);
Level level();
bool parse_level(std::string_view text, Level& out);
inline bool enabled(Level l) {
  return l >= level();
}

// Whether client addresses may appear in logs (config: log_client_addresses).
void set_log_client_addresses(bool on);
bool log_client_addresses();

void write(Level level, std::string_view event, Fields fields = {});

// Like write(), but at most `per_second` lines of this event per second
// process-wide; the next line that gets through says how many were dropped.
// For events a remote peer can trigger at will (bad handshakes, refusals).
void write_limited(Level level, std::string_view event, Fields fields = {},
                   unsigned per_second = 10);

inline void debug(std::string_view e, Fields f = {}) {
  if (enabled(Level::debug)) write(Level::debug, e, f);
}
inline void info(std::string_view e, Fields f = {}) {
  write(Level::info, e, f);
}
inline void warn(std::string_view e, Fields f = {}) {
  write(Level::warn, e, f);
}
inline void error(std::string_view e, Fields f = {}) {
  write(Level::error, e, f);
}

// Formats one logfmt line (without newline) - exposed for tests.
std::string format_line(Level level, std::string_view event, Fields fields, uint64_t dropped = 0);

}  // namespace ferry::log
