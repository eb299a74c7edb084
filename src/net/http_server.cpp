#include "net/http_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "net/socket.h"

namespace ferry::net {
namespace {

constexpr size_t kMaxRequest = size_t{8} * 1024;
constexpr uint64_t kTimeoutMs = 5'000;
constexpr size_t kMaxClients = 64;
constexpr uint64_t kPauseMs = 100;  // accept paused after running out of descriptors

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

}  // namespace

class HttpServer::Client final : public Deferred, public IoHandler, public TimerHandler {
 public:
  Client(HttpServer& server, Fd fd) : server_(server), fd_(std::move(fd)) {
    server_.loop_.add(fd_.get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
    server_.loop_.schedule_in(timer_, kTimeoutMs, this);
  }

  void on_io(uint32_t) override {
    if (done_) return;
    if (out_.empty()) {
      read_request();
    } else {
      write_response();
    }
  }
  void on_timer() override { finish(); }
  // Still waiting for its request (not answering yet): may be evicted.
  bool reading() const { return out_.empty() && !done_; }
  void evict() { finish(); }

 private:
  void read_request() {
    char buf[2048];
    bool eof = false;
    for (;;) {
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n > 0) {
        in_.append(buf, static_cast<size_t>(n));
        if (in_.size() > kMaxRequest) return respond({400, "text/plain", "request too large\n"});
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n < 0) return finish();  // reset
      eof = true;                  // a half-close after a whole request still gets the answer
      break;
    }
    size_t end = in_.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (eof) finish();  // closed before a whole request
      return;
    }
    HttpRequest req;
    if (!parse_request(std::string_view(in_).substr(0, end), req))
      return respond({400, "text/plain", "bad request\n"});
    if (req.method != "GET" && req.method != "HEAD")
      return respond({405, "text/plain", "only GET\n"});
    head_only_ = req.method == "HEAD";
    respond(server_.handler_(req));
  }

  void respond(const HttpResponse& r) {
    out_ = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) +
           "\r\nContent-Type: " + r.content_type +
           "\r\nContent-Length: " + std::to_string(r.body.size()) +
           "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
    if (!head_only_) out_ += r.body;
    write_response();
  }

  void write_response() {
    while (sent_ < out_.size()) {
      ssize_t n = ::send(fd_.get(), out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
      if (n > 0) {
        sent_ += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      return finish();
    }
    finish();
  }

  void finish() {
    if (done_) return;
    done_ = true;
    timer_.cancel();
    fd_.reset();
    server_.finished(this);
  }

  HttpServer& server_;
  Fd fd_;
  Timer timer_;
  std::string in_;
  std::string out_;
  size_t sent_ = 0;
  bool head_only_ = false;
  bool done_ = false;
};

HttpServer::HttpServer(EventLoop& loop, Handler handler)
    : loop_(loop), handler_(std::move(handler)) {}

HttpServer::~HttpServer() {
  if (fd_) loop_.remove(fd_.get());
  for (Client* c : clients_) delete c;
}

bool HttpServer::listen(const SocketAddress& addr, std::string& error) {
  ListenOptions opts;
  opts.backlog = 64;
  fd_ = listen_tcp(addr, opts, error);
  if (!fd_) return false;
  loop_.add(fd_.get(), EPOLLIN, this);
  return true;
}

SocketAddress HttpServer::local_address() const {
  return net::local_address(fd_.get());
}

void HttpServer::on_io(uint32_t) {
  for (int i = 0; i < 16; ++i) {
    int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (out_of_resources(errno)) {
        // The listener stays readable: stop watching it for a moment rather
        // than spin a core (the overload that caused this needs it).
        loop_.modify(fd_.get(), 0, this);
        loop_.schedule_in(resume_, kPauseMs, this);
      }
      return;
    }
    if (clients_.size() >= kMaxClients) {
      // Full: make room by dropping the oldest client still silent, so idle
      // connections cannot lock the probes and scrapers out.
      auto oldest = std::find_if(clients_.begin(), clients_.end(),
                                 [](const Client* c) { return c->reading(); });
      if (oldest == clients_.end()) {
        ::close(fd);  // all busy answering: refuse rather than queue
        continue;
      }
      (*oldest)->evict();
    }
    clients_.push_back(new Client(*this, Fd(fd)));
  }
}

void HttpServer::on_timer() {
  loop_.modify(fd_.get(), EPOLLIN, this);
}

void HttpServer::finished(Client* c) {
  auto it = std::find(clients_.begin(), clients_.end(), c);
  if (it != clients_.end()) clients_.erase(it);
  loop_.defer_delete(c);
}

bool HttpServer::parse_request(std::string_view head, HttpRequest& out) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return false;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return false;
  if (target.empty() || target.front() != '/') return false;
  for (char c : method) {
    if (c < 'A' || c > 'Z') return false;
  }
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  }
  size_t q = target.find('?');
  out.method = std::string(method);
  out.path = std::string(target.substr(0, q));
  out.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  return true;
}

}  // namespace ferry::net
