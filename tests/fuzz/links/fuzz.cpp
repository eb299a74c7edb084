// libFuzzer target for the links people pass around (chat/wire/links.h): a
// server link or a proxy spec may come from anyone, through a chat or a QR
// code. Byte 0 picks the parser, the rest is the text. Beyond "never
// crashes":
//  - a refusal always says why (a non-empty error);
//  - what parses is spelled back (to_string, to_link) as text that parses to
//    the same thing, so a link passed on is the link received;
//  - base64url_decode accepts only the canonical spelling: encoding what it
//    decoded gives the input back.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "chat/wire/links.h"

namespace {

using ferry::chat::ProxySpec;
using ferry::chat::ServerLink;

void check(bool ok) {
  if (!ok) std::abort();
}

void server_link(std::string_view text) {
  std::string error;
  auto link = ServerLink::parse(text, error);
  if (!link) {
    check(!error.empty());
    return;
  }
  check(link->key.empty() || link->key.size() == ferry::chat::kServerKeySize);
  auto again = ServerLink::parse(link->to_string(), error);
  check(again && again->address == link->address && again->key == link->key);
}

void proxy_spec(std::string_view text) {
  std::string error;
  auto spec = ProxySpec::parse(text, error);
  if (!spec) {
    check(!error.empty());
    return;
  }
  for (const std::string& spelling : {spec->to_string(), spec->to_link()}) {
    auto again = ProxySpec::parse(spelling, error);
    check(again && again->address == spec->address && again->tls == spec->tls);
  }
}

void base64url(std::string_view text) {
  auto raw = ferry::chat::base64url_decode(text);
  if (raw) check(ferry::chat::base64url_encode(*raw) == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      server_link(text);
      break;
    case 1:
      proxy_spec(text);
      break;
    default:
      base64url(text);
      break;
  }
  return 0;
}
