// One thread of ferry-bare-relay: SO_REUSEPORT listeners and an edge-triggered
// epoll loop that copies bytes between each client and a fresh upstream
// connection. It does only what every TCP relay must: per connection one
// accept, socket, connect and two epoll registrations; per burst of bytes
// one recv and one send (a short read means the socket is drained, so no
// read ever ends in EAGAIN); a FIN passed on with shutdown, and the last
// direction's FIN left to close(). No limits, timeouts, TLS, PROXY header,
// logging or metrics: it is the yardstick of bench/relay.sh, not a product.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/fd.h"
#include "support/endpoint.h"
#include "support/poller.h"

namespace ferry::bench {

struct BareRoute {
  Endpoint listen;
  Endpoint upstream;
};

class BareRelayWorker {
 public:
  explicit BareRelayWorker(const std::vector<BareRoute>& routes);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Relays until `stop` becomes true (checked at least every 100 ms).
  void run(const std::atomic<bool>& stop);

 private:
  struct Pair;
  struct End {
    net::Fd fd;
    Pair* pair = nullptr;
    bool connected = true;               // false for an upstream until its connect completes
    bool read_eof = false;               // its peer will send no more
    std::vector<unsigned char> pending;  // bytes for this end the kernel did not take yet
    size_t pending_off = 0;
  };
  struct Pair {
    End ends[2];  // 0: client, 1: upstream
    End& other(const End& e) { return &e == &ends[0] ? ends[1] : ends[0]; }
  };

  void accept_all(size_t route);
  void on_event(End& e, uint32_t events);
  void read_from(End& src, bool fin_seen);
  bool flush(End& dst);
  void close_pair(Pair& p);
  // False once `e` (which had descriptor `fd`) was closed with its pair.
  bool alive(int fd, const End& e) const;

  std::vector<BareRoute> routes_;
  std::vector<net::Fd> listeners_;
  Poller poller_;
  std::string error_;
  std::vector<End*> by_fd_;
  std::vector<unsigned char> scratch_ = std::vector<unsigned char>(65536);
};

}  // namespace ferry::bench
