// libFuzzer target for the stats endpoint's request-line parser
// (HttpServer::parse_request). Beyond "never crashes", what it accepts is
// exactly what the handler may rely on:
//  - the method is 1+ of A-Z, the path starts with '/' and holds no '?';
//  - neither path nor query holds a control byte, a space or DEL;
//  - the first line is METHOD SP PATH ['?' QUERY] SP HTTP/1.x, rebuilt.
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/http_server.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool printable_token(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view head(reinterpret_cast<const char*>(data), size);
  ferry::net::HttpRequest req;
  if (!ferry::net::HttpServer::parse_request(head, req)) return 0;

  check(!req.method.empty());
  for (char c : req.method) check(c >= 'A' && c <= 'Z');
  check(!req.path.empty() && req.path.front() == '/');
  check(req.path.find('?') == std::string::npos);
  check(printable_token(req.path) && printable_token(req.query));

  std::string_view line = head.substr(0, head.find("\r\n"));
  std::string target = req.path;
  if (line.find('?') != std::string_view::npos) target += "?" + req.query;
  const std::string start = req.method + " " + target + " ";
  check(line.substr(0, start.size()) == start);
  std::string_view version = line.substr(start.size());
  check(version == "HTTP/1.1" || version == "HTTP/1.0");
  return 0;
}
