#include "proxy/config_text.h"

namespace ferry::proxy::text {

std::string quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      out.append("\\u00");
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);  // UTF-8 passes through; TOML allows it in basic strings
    }
  }
  out.push_back('"');
  return out;
}

std::string key(std::string_view k) {
  bool bare = !k.empty();
  for (char c : k) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) bare = false;
  }
  return bare ? std::string(k) : quote(k);
}

std::string join(std::string_view parent, std::string_view k) {
  if (parent.empty()) return key(k);
  std::string out(parent);
  out.push_back('.');
  out.append(key(k));
  return out;
}

std::string index(std::string_view parent, size_t i) {
  return std::string(parent) + "[" + std::to_string(i) + "]";
}

}  // namespace ferry::proxy::text
