#include "net/endpoint.h"

#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace ferry::net {

IoResult Endpoint::ssl_status(int ret) {
  IoResult r;
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      r.status = IoStatus::would_block;
      r.wants_read = true;
      break;
    case SSL_ERROR_WANT_WRITE:
      r.status = IoStatus::would_block;
      r.wants_write = true;
      break;
    case SSL_ERROR_ZERO_RETURN:
      r.status = IoStatus::eof;
      break;
    case SSL_ERROR_SYSCALL:
      // Reset or other socket error. (A bare TCP FIN without close_notify is
      // an orderly end: SSL_OP_IGNORE_UNEXPECTED_EOF makes it ZERO_RETURN.)
    default:
      r.status = IoStatus::error;
      ERR_clear_error();
      break;
  }
  return r;
}

IoResult Endpoint::read(char* buf, size_t len) {
  if (ssl_ != nullptr) {
    errno = 0;
    int n = SSL_read(ssl_, buf, static_cast<int>(len > INT_MAX ? INT_MAX : len));
    if (n > 0) return {static_cast<size_t>(n), IoStatus::ok};
    return ssl_status(n);
  }
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, len, 0);
    if (n > 0) return {static_cast<size_t>(n), IoStatus::ok};
    if (n == 0) return {0, IoStatus::eof};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {0, IoStatus::would_block};
    return {0, IoStatus::error};
  }
}

IoResult Endpoint::write(const char* buf, size_t len) {
  if (ssl_ != nullptr) {
    errno = 0;
    int n = SSL_write(ssl_, buf, static_cast<int>(len > INT_MAX ? INT_MAX : len));
    if (n > 0) return {static_cast<size_t>(n), IoStatus::ok};
    IoResult r = ssl_status(n);
    if (r.status == IoStatus::eof) r.status = IoStatus::error;
    return r;
  }
  for (;;) {
    ssize_t n = ::send(fd_.get(), buf, len, MSG_NOSIGNAL);
    if (n >= 0) return {static_cast<size_t>(n), IoStatus::ok};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {0, IoStatus::would_block};
    return {0, IoStatus::error};
  }
}

void Endpoint::shutdown_write() {
  if (ssl_ != nullptr) {
    // One attempt: close_notify goes out if the socket has room; a relay never
    // waits for the peer's reply.
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  if (fd_.valid()) ::shutdown(fd_.get(), SHUT_WR);
}

void Endpoint::close() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  fd_.reset();
}

}  // namespace ferry::net
