#include "chat/client/transport.h"

#include <netdb.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>

#include "chat/client/errors.h"
#include "net/socket.h"

namespace ferry::chat::client {

uint64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

std::string Target::describe() const {
  if (via_proxy) return std::string("proxy ") + (tls ? "tls://" : "") + address.to_string();
  return "server " + address.to_string();
}

namespace {

int remaining(uint64_t deadline_ms) {
  uint64_t now = now_ms();
  return deadline_ms > now ? static_cast<int>(std::min<uint64_t>(deadline_ms - now, 60'000)) : 0;
}

std::string unreachable_prefix(const Target& t) {
  return (t.via_proxy ? "proxy unreachable: " : "server unreachable: ") + t.address.to_string();
}

// Numeric addresses directly; names through getaddrinfo (blocking is fine in
// the client, and it honours /etc/hosts).
std::vector<net::SocketAddress> resolve(const Target& t) {
  std::vector<net::SocketAddress> out;
  if (auto a = net::SocketAddress::from_host_port(t.address)) {
    out.push_back(*a);
    return out;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc =
      ::getaddrinfo(t.address.host.c_str(), std::to_string(t.address.port).c_str(), &hints, &res);
  if (rc != 0)
    throw ClientError(ExitCode::unreachable,
                      unreachable_prefix(t) + ": cannot resolve: " + gai_strerror(rc));
  for (addrinfo* p = res; p; p = p->ai_next)
    out.push_back(net::SocketAddress::from_sockaddr(p->ai_addr, p->ai_addrlen));
  ::freeaddrinfo(res);
  return out;
}

}  // namespace

std::unique_ptr<Transport> Transport::connect(const Target& target, uint64_t deadline_ms) {
  std::string last = "no address";
  for (const auto& addr : resolve(target)) {
    int err = 0;
    net::Fd fd = net::connect_tcp(addr, err);
    if (!fd) {
      last = std::strerror(err);
      continue;
    }
    pollfd p{fd.get(), POLLOUT, 0};
    int n;
    do {
      n = ::poll(&p, 1, remaining(deadline_ms));
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
      last = "timed out";
      continue;
    }
    err = net::socket_error(fd.get());
    if (err != 0) {
      last = std::strerror(err);
      continue;
    }
    net::set_nodelay(fd.get());
    std::unique_ptr<Transport> t(new Transport(target, std::move(fd)));
    if (target.tls) t->tls_handshake(deadline_ms);
    return t;
  }
  throw ClientError(ExitCode::unreachable, unreachable_prefix(target) + ": " + last);
}

Transport::~Transport() {
  if (ssl_) SSL_free(ssl_);
}

void Transport::fail(const std::string& what) const {
  throw ClientError(ExitCode::unreachable,
                    "connection to " + target_.describe() + " lost: " + what);
}

void Transport::tls_handshake(uint64_t deadline_ms) {
  ctx_ = net::tls::make_client_context(false);
  if (!ctx_) fail("TLS set-up failed");
  ssl_ = SSL_new(ctx_.get());
  if (!ssl_ || SSL_set_fd(ssl_, fd_.get()) != 1) fail("TLS set-up failed");
  // SNI with a name, as a browser would; never with a bare address.
  if (!net::SocketAddress::from_host_port(target_.address))
    SSL_set_tlsext_host_name(ssl_, target_.address.host.c_str());
  for (;;) {
    ERR_clear_error();
    int rc = SSL_connect(ssl_);
    if (rc == 1) return;
    int e = SSL_get_error(ssl_, rc);
    if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
        wait(e == SSL_ERROR_WANT_WRITE, deadline_ms))
      continue;
    std::string why = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE
                          ? "timed out"
                          : "TLS handshake failed: " + net::tls::last_error();
    throw ClientError(ExitCode::unreachable, unreachable_prefix(target_) + ": " + why);
  }
}

size_t Transport::write_some(std::span<const uint8_t> data) {
  if (data.empty()) return 0;
  if (ssl_) {
    ERR_clear_error();
    size_t written = 0;
    int rc = SSL_write_ex(ssl_, data.data(), data.size(), &written);
    if (rc == 1) return written;
    int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
      tls_wants_write_ = e == SSL_ERROR_WANT_WRITE;
      return 0;
    }
    fail("TLS write failed: " + net::tls::last_error());
  }
  ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<size_t>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
  fail(std::strerror(errno));
}

size_t Transport::read_some(std::span<uint8_t> buf) {
  if (ssl_) {
    ERR_clear_error();
    size_t got = 0;
    int rc = SSL_read_ex(ssl_, buf.data(), buf.size(), &got);
    if (rc == 1) return got;
    int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    if (e == SSL_ERROR_ZERO_RETURN) fail("closed by the proxy");
    if (e == SSL_ERROR_SYSCALL) fail("closed by the proxy");
    fail("TLS read failed: " + net::tls::last_error());
  }
  ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
  if (n > 0) return static_cast<size_t>(n);
  if (n == 0) fail(target_.via_proxy ? "closed by the proxy" : "closed by the server");
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
  fail(std::strerror(errno));
}

bool Transport::has_buffered() const {
  return ssl_ && SSL_pending(ssl_) > 0;
}

bool Transport::wait(bool want_write, uint64_t deadline_ms) {
  if (!want_write && has_buffered()) return true;
  short events = POLLIN;
  if (want_write || tls_wants_write_) events |= POLLOUT;
  pollfd p{fd_.get(), events, 0};
  int n;
  do {
    n = ::poll(&p, 1, remaining(deadline_ms));
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

}  // namespace ferry::chat::client
