// One thread of the bench's echo upstream: its own SO_REUSEPORT listener and
// epoll loop, echoing every byte back. Memory is bounded: while a peer does
// not read its echo, the worker stops reading from it (at most one read's
// worth, 64 KiB, is kept per connection).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "net/fd.h"
#include "support/endpoint.h"
#include "support/poller.h"

namespace ferry::bench {

class EchoWorker {
 public:
  // Binds the listener; check ok() / error().
  explicit EchoWorker(const Endpoint& listen);
  bool ok() const { return listener_.valid() && poller_.ok(); }
  const std::string& error() const { return error_; }

  // Serves until `stop` becomes true (checked at least every 100 ms).
  void run(const std::atomic<bool>& stop);
  uint64_t accepted() const { return accepted_; }

 private:
  struct Conn {
    bool open = false;
    bool peer_closed = false;
    std::vector<unsigned char> pending;  // echo not yet accepted by the kernel
    size_t pending_off = 0;
  };

  void accept_all();
  void on_readable(int fd);
  void on_writable(int fd);
  void close_conn(int fd);
  Conn& conn(int fd);

  net::Fd listener_;
  net::Fd reserve_;  // spare fd: lets us accept-and-close when out of descriptors
  Poller poller_;
  std::string error_;
  std::vector<Conn> conns_;  // indexed by fd
  std::vector<unsigned char> scratch_ = std::vector<unsigned char>(65536);
  uint64_t accepted_ = 0;
};

}  // namespace ferry::bench
