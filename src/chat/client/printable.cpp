#include "chat/client/printable.h"

namespace ferry::chat::client {

std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace ferry::chat::client
