#include "support/endpoint.h"

#include <netdb.h>

#include <cstring>

namespace ferry::bench {

std::optional<Endpoint> parse_endpoint(std::string_view text, std::string& error) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "expected [IPv6]:PORT";
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    port = std::string(text.substr(close + 2));
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      error = "expected HOST:PORT";
      return std::nullopt;
    }
    host = std::string(text.substr(0, colon));
    port = std::string(text.substr(colon + 1));
  }
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    error = std::string("not a numeric address: ") + ::gai_strerror(rc);
    return std::nullopt;
  }
  Endpoint ep;
  std::memcpy(&ep.addr, res->ai_addr, res->ai_addrlen);
  ep.len = res->ai_addrlen;
  ep.text = std::string(text);
  ::freeaddrinfo(res);
  return ep;
}

}  // namespace ferry::bench
