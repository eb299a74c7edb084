// libFuzzer target for the test-vector JSON reader (crypto/vectors/json.h).
// It is test tooling, but it reads files from outside the project. Beyond
// "never crashes" (nesting is bounded by kMaxDepth, so no stack overflow):
//  - a refusal is Errc::malformed;
//  - an accepted document is the same document with any whitespace around
//    it, and stops being one with a byte of garbage after it.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/vectors/json.h"

namespace json = ferry::crypto::json;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = json::parse(text);
  if (!doc) {
    check(doc.error().code == ferry::crypto::Errc::malformed);
    return 0;
  }
  check(json::parse(" \n" + std::string(text) + "\t\r ").ok());
  check(!json::parse(std::string(text) + " x").ok());
  return 0;
}
