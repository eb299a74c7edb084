#include "crypto/secret.h"

#include <sodium.h>

namespace ferry::crypto {

void wipe(void* data, size_t len) {
  if (data != nullptr && len > 0) sodium_memzero(data, len);
}

bool ct_equal(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ferry::crypto
