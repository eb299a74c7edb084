#include "common/log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ferry::log {
namespace {

std::atomic<Level> g_level{Level::info};
std::atomic<bool> g_client_addresses{false};

const char* level_name(Level l) {
  switch (l) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  }
  return false;
}

void append_value(std::string& out, std::string_view v) {
  if (!needs_quotes(v)) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c < 0x20 || c == 0x7f) {
      out.append(fmt::format("\\x{:02x}", c));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

void emit(const std::string& line) {
  // One write(2) per line so concurrent threads never interleave within a line.
  std::string buf = line;
  buf.push_back('\n');
  const char* p = buf.data();
  size_t left = buf.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

struct Limiter {
  int64_t second = 0;
  unsigned count = 0;
  uint64_t dropped = 0;
};
std::mutex g_limit_mu;
std::unordered_map<std::string, Limiter> g_limits;

}  // namespace

void set_level(Level l) {
  g_level.store(l, std::memory_order_relaxed);
}
Level level() {
  return g_level.load(std::memory_order_relaxed);
}

bool parse_level(std::string_view text, Level& out) {
  for (Level l : {Level::debug, Level::info, Level::warn, Level::error}) {
    if (text == level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void set_log_client_addresses(bool on) {
  g_client_addresses.store(on, std::memory_order_relaxed);
}
bool log_client_addresses() {
  return g_client_addresses.load(std::memory_order_relaxed);
}

std::string format_line(Level lvl, std::string_view event, Fields fields, uint64_t dropped) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string out = fmt::format(
      "ts={:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z level={} event=", tm.tm_year + 1900,
      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms, level_name(lvl));
  append_value(out, event);
  for (const Field& f : fields) {
    out.push_back(' ');
    out.append(f.key);
    out.push_back('=');
    std::visit(
        [&out](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>) {
            append_value(out, v);
          } else if constexpr (std::is_same_v<T, bool>) {
            out.append(v ? "true" : "false");
          } else {
            out.append(fmt::format("{}", v));
          }
        },
        f.value);
  }
  if (dropped > 0) out.append(fmt::format(" suppressed={}", dropped));
  return out;
}

void write(Level lvl, std::string_view event, Fields fields) {
  if (!enabled(lvl)) return;
  emit(format_line(lvl, event, fields));
}

void write_limited(Level lvl, std::string_view event, Fields fields, unsigned per_second) {
  if (!enabled(lvl)) return;
  uint64_t dropped = 0;
  {
    int64_t sec = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    std::lock_guard lock(g_limit_mu);
    Limiter& lim = g_limits[std::string(event)];
    if (lim.second != sec) {
      lim.second = sec;
      lim.count = 0;
    }
    if (lim.count >= per_second) {
      ++lim.dropped;
      return;
    }
    ++lim.count;
    dropped = lim.dropped;
    lim.dropped = 0;
  }
  emit(format_line(lvl, event, fields, dropped));
}

}  // namespace ferry::log
