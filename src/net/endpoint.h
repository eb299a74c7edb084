// One end of a relayed connection: a non-blocking socket, optionally wrapped
// in TLS. The relay moves bytes between two of these and never needs to know
// which kind it has, except to choose splice(2) when both are plain.
#pragma once

#include <openssl/ssl.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "net/fd.h"

namespace ferry::net {

// Result of one read or write: n > 0 bytes; or one of these.
enum class IoStatus : int8_t {
  ok = 0,
  would_block = -1,  // try again after the next readiness event
  eof = -2,          // orderly end of stream (read side)
  error = -3,        // reset, TLS failure: give up on the connection
};

struct IoResult {
  size_t bytes = 0;
  IoStatus status = IoStatus::ok;
  // TLS may need the opposite direction's readiness to make progress.
  bool wants_read = false;
  bool wants_write = false;
};

class Endpoint {
 public:
  Endpoint() = default;
  explicit Endpoint(Fd fd) : fd_(std::move(fd)) {}
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;
  ~Endpoint() { close(); }

  int fd() const { return fd_.get(); }
  bool open() const { return fd_.valid(); }
  SSL* ssl() const { return ssl_; }
  bool plain() const { return ssl_ == nullptr; }

  void set_fd(Fd fd) { fd_ = std::move(fd); }
  // Gives up the descriptor without closing it (the ring will). Plain only.
  int release_fd() { return fd_.release(); }
  // Takes ownership of `ssl`, already bound to fd().
  void set_ssl(SSL* ssl) { ssl_ = ssl; }

  IoResult read(char* buf, size_t len);
  IoResult write(const char* buf, size_t len);
  // Ends our sending half: TLS close_notify (best effort), then SHUT_WR.
  void shutdown_write();
  void close();

 private:
  IoResult ssl_status(int ret);

  Fd fd_;
  SSL* ssl_ = nullptr;
};

}  // namespace ferry::net
