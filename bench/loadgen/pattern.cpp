#include <array>

#include "options.h"

namespace ferry::bench {

const unsigned char* pattern() {
  static const auto bytes = [] {
    static std::array<unsigned char, kPatternSize> b{};
    // Not all zeros: a relay that mangled or shifted bytes would show.
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<unsigned char>((i * 131 + 7) >> 1);
    return b.data();
  }();
  return bytes;
}

}  // namespace ferry::bench
