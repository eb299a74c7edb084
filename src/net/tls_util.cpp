// Small helpers around the TLS set-up: list splitting for SSL_DNS/SSL_IP and
// OpenSSL's error queue as text.
#include <openssl/err.h>

#include <string_view>

#include "net/tls.h"

namespace ferry::net::tls {

std::vector<std::string> split_list(const char* text) {
  std::vector<std::string> out;
  if (!text) return out;
  std::string_view rest(text);
  while (true) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

std::string last_error() {
  std::string out;
  // The queue is bounded by OpenSSL (16 entries), so this loop is too.
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

}  // namespace ferry::net::tls
