#include "proxy/config_values.h"

namespace ferry::proxy::values {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

template <typename Pred>
bool all_of(std::string_view text, Pred pred) {
  for (char c : text) {
    if (!pred(c)) return false;
  }
  return true;
}

}  // namespace

std::string_view proxy_header_name(ProxyHeader v) {
  switch (v) {
    case ProxyHeader::none:
      return "none";
    case ProxyHeader::v1:
      return "v1";
    case ProxyHeader::v2:
      return "v2";
  }
  return "none";
}

std::string_view key_type_name(KeyType v) {
  switch (v) {
    case KeyType::ecdsa_p256:
      return "ecdsa-p256";
    case KeyType::rsa_2048:
      return "rsa-2048";
    case KeyType::rsa_4096:
      return "rsa-4096";
  }
  return "ecdsa-p256";
}

std::string_view share_link_name(ShareLink v) {
  switch (v) {
    case ShareLink::none:
      return "none";
    case ShareLink::whatsapp:
      return "whatsapp";
    case ShareLink::ferry:
      return "ferry";
  }
  return "none";
}

std::string_view cpu_affinity_name(CpuAffinity v) {
  switch (v) {
    case CpuAffinity::automatic:
      return "auto";
    case CpuAffinity::none:
      return "none";
  }
  return "auto";
}

std::string_view io_uring_name(IoUring v) {
  switch (v) {
    case IoUring::automatic:
      return "auto";
    case IoUring::off:
      return "off";
  }
  return "auto";
}

std::optional<ProxyHeader> parse_proxy_header(std::string_view text) {
  for (auto v : {ProxyHeader::none, ProxyHeader::v1, ProxyHeader::v2}) {
    if (text == proxy_header_name(v)) return v;
  }
  return std::nullopt;
}

std::optional<KeyType> parse_key_type(std::string_view text) {
  for (auto v : {KeyType::ecdsa_p256, KeyType::rsa_2048, KeyType::rsa_4096}) {
    if (text == key_type_name(v)) return v;
  }
  return std::nullopt;
}

std::optional<ShareLink> parse_share_link(std::string_view text) {
  for (auto v : {ShareLink::none, ShareLink::whatsapp, ShareLink::ferry}) {
    if (text == share_link_name(v)) return v;
  }
  return std::nullopt;
}

std::optional<CpuAffinity> parse_cpu_affinity(std::string_view text) {
  for (auto v : {CpuAffinity::automatic, CpuAffinity::none}) {
    if (text == cpu_affinity_name(v)) return v;
  }
  return std::nullopt;
}

std::optional<IoUring> parse_io_uring(std::string_view text) {
  for (auto v : {IoUring::automatic, IoUring::off}) {
    if (text == io_uring_name(v)) return v;
  }
  return std::nullopt;
}

bool is_log_level(std::string_view text) {
  return text == "debug" || text == "info" || text == "warn" || text == "error";
}

bool is_upstream_name(std::string_view text) {
  return !text.empty() && text.size() <= 64 &&
         all_of(text, [](char c) { return is_alnum(c) || c == '_' || c == '-'; });
}

bool is_listener_name(std::string_view text) {
  return !text.empty() && text.size() <= 128 && all_of(text, [](char c) {
    return is_alnum(c) || c == '_' || c == '-' || c == '.' || c == ':' || c == '[' || c == ']';
  });
}

bool is_user_name(std::string_view text) {
  return !text.empty() && text.size() <= 32 && text.front() != '-' &&
         all_of(text, [](char c) { return is_alnum(c) || c == '_' || c == '-' || c == '.'; });
}

bool has_no_control_chars(std::string_view text) {
  return all_of(text, [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
}

}  // namespace ferry::proxy::values
