#include "crypto/result.h"

namespace ferry::crypto {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::malformed:
      return "malformed";
    case Errc::unsupported:
      return "unsupported";
    case Errc::auth_failed:
      return "auth_failed";
    case Errc::bad_key:
      return "bad_key";
    case Errc::invalid_state:
      return "invalid_state";
    case Errc::nonce_exhausted:
      return "nonce_exhausted";
    case Errc::too_large:
      return "too_large";
    case Errc::replayed:
      return "replayed";
    case Errc::too_many_skipped:
      return "too_many_skipped";
    case Errc::internal:
      return "internal";
  }
  return "unknown";
}

}  // namespace ferry::crypto
