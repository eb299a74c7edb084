#include "chat/wire/links.h"

#include <sodium.h>

#include <algorithm>
#include <map>

namespace ferry::chat {
namespace {

constexpr std::string_view kServerPrefix = "ferry://server?";
constexpr std::string_view kProxyPrefix = "ferry://proxy?";
constexpr std::string_view kTlsPrefix = "tls://";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding for query values (a shell or a QR app may escape [ ] :).
std::optional<std::string> percent_decode(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out.push_back(v[i]);
      continue;
    }
    if (i + 2 >= v.size()) return std::nullopt;
    int hi = hex_value(v[i + 1]), lo = hex_value(v[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// "a=1&b=2" -> {a:1, b:2}. Duplicate keys are an error; unknown keys are kept
// (and ignored by the callers) so newer links still open in older clients.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view q,
                                                              std::string& error) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      error = "link parameter without a value: " + std::string(item);
      return std::nullopt;
    }
    auto key = std::string(item.substr(0, eq));
    auto value = percent_decode(item.substr(eq + 1));
    if (!value) {
      error = "bad %-escape in link parameter " + key;
      return std::nullopt;
    }
    if (!out.emplace(key, *value).second) {
      error = "link parameter given twice: " + key;
      return std::nullopt;
    }
  }
  return out;
}

std::optional<net::HostPort> host_port_from_query(const std::map<std::string, std::string>& q,
                                                  std::string& error) {
  auto host = q.find("host");
  auto port = q.find("port");
  if (host == q.end() || host->second.empty()) {
    error = "link has no host";
    return std::nullopt;
  }
  if (port == q.end()) {
    error = "link has no port";
    return std::nullopt;
  }
  std::string h = host->second;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string text = (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port->second;
  auto hp = net::HostPort::parse(text);
  if (!hp) error = "bad host or port in link: " + text;
  return hp;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // Checked here, not left to libsodium: 1.0.18 (Debian 12) reads every byte
  // from 0x80 up as '_'.
  auto in_alphabet = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  };
  if (!std::all_of(text.begin(), text.end(), in_alphabet)) return std::nullopt;
  std::string out(text.size() * 3 / 4 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size())
    return std::nullopt;
  out.resize(len);
  return out;
}

std::optional<ServerLink> ServerLink::parse(std::string_view text, std::string& error) {
  if (!text.starts_with(kServerPrefix)) {
    error = "a server link starts with ferry://server?";
    return std::nullopt;
  }
  auto q = parse_query(text.substr(kServerPrefix.size()), error);
  if (!q) return std::nullopt;
  auto hp = host_port_from_query(*q, error);
  if (!hp) return std::nullopt;
  ServerLink link{*hp, {}};
  if (auto key = q->find("key"); key != q->end()) {
    auto raw = base64url_decode(key->second);
    if (!raw || raw->size() != kServerKeySize) {
      error = "the server link's key is not a base64url 32-byte key";
      return std::nullopt;
    }
    link.key = *raw;
  }
  return link;
}

std::string ServerLink::to_string() const {
  std::string host =
      address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host;
  std::string out =
      std::string(kServerPrefix) + "host=" + host + "&port=" + std::to_string(address.port);
  if (!key.empty()) out += "&key=" + base64url_encode(key);
  return out;
}

std::optional<ProxySpec> ProxySpec::parse(std::string_view text, std::string& error) {
  if (text.starts_with("ferry://")) {
    if (!text.starts_with(kProxyPrefix)) {
      error = "a proxy link starts with ferry://proxy?";
      return std::nullopt;
    }
    auto q = parse_query(text.substr(kProxyPrefix.size()), error);
    if (!q) return std::nullopt;
    auto hp = host_port_from_query(*q, error);
    if (!hp) return std::nullopt;
    ProxySpec spec{*hp, false};
    if (auto tls = q->find("tls"); tls != q->end()) {
      if (tls->second == "1" || tls->second == "true") {
        spec.tls = true;
      } else if (tls->second != "0" && tls->second != "false") {
        error = "the proxy link's tls must be 1 or 0";
        return std::nullopt;
      }
    }
    return spec;
  }
  bool tls = text.starts_with(kTlsPrefix);
  if (tls) text.remove_prefix(kTlsPrefix.size());
  auto hp = net::HostPort::parse(text);
  if (!hp) {
    error = "a proxy is HOST:PORT, tls://HOST:PORT or ferry://proxy?host=...&port=...";
    return std::nullopt;
  }
  return ProxySpec{*hp, tls};
}

std::string ProxySpec::to_string() const {
  return (tls ? std::string(kTlsPrefix) : std::string()) + address.to_string();
}

std::string ProxySpec::to_link() const {
  std::string host =
      address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host;
  return std::string(kProxyPrefix) + "host=" + host + "&port=" + std::to_string(address.port) +
         (tls ? "&tls=1" : "");
}

}  // namespace ferry::chat
