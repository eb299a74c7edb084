// A deliberately tiny HTTP/1.1 server for the stats endpoint: GET and HEAD,
// one request per connection, bounded request size, time and concurrency.
// It never serves anything but what the handler returns.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/address.h"
#include "net/event_loop.h"
#include "net/fd.h"

namespace ferry::net {

struct HttpRequest {
  std::string method;
  std::string path;  // without the query string
  std::string query;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer final : public IoHandler, public TimerHandler {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  HttpServer(EventLoop& loop, Handler handler);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  bool listen(const SocketAddress& addr, std::string& error);
  SocketAddress local_address() const;
  void on_io(uint32_t events) override;
  void on_timer() override;  // accepting again after a pause

  // Parses the request head; false when malformed (exposed for tests/fuzzing).
  static bool parse_request(std::string_view head, HttpRequest& out);

 private:
  class Client;
  void finished(Client* c);

  EventLoop& loop_;
  Handler handler_;
  Fd fd_;
  Timer resume_;
  std::vector<Client*> clients_;  // oldest first
};

}  // namespace ferry::net
