// A worker's listening socket for one [[listener]]: accepts, applies the
// caps that need no client bytes (global, per listener, upstream down), and
// hands each admitted socket to a new Connection.
//
// On a worker with an io_uring, accepts go through the ring: a few accept
// operations stay queued, each with its own address slot, so accepting a
// connection costs no system call.
#pragma once

#include <array>
#include <memory>

#include "net/address.h"
#include "net/event_loop.h"
#include "net/fd.h"
#include "proxy/runtime.h"

namespace ferry::proxy {

class Worker;

class ListenerSocket final : public net::Deferred,
                             public net::IoHandler,
                             public net::TimerHandler,
                             public net::Completion {
 public:
  ListenerSocket(Worker& worker, std::shared_ptr<const ListenerRuntime> runtime, net::Fd fd);
  ListenerSocket(const ListenerSocket&) = delete;
  ListenerSocket& operator=(const ListenerSocket&) = delete;
  ~ListenerSocket() override;

  // Stops accepting now.
  void close();
  // Closes, then deletes itself through the loop's defer_delete once no
  // event or ring operation can refer to it any more.
  void retire();

  const net::SocketAddress& address() const { return runtime_->bind_address; }
  // New settings after a reload; the socket stays open.
  void update(std::shared_ptr<const ListenerRuntime> runtime) { runtime_ = std::move(runtime); }
  net::Fd take_fd() { return std::move(fd_); }

  void on_io(uint32_t events) override;
  void on_timer() override;  // resume accepting after running out of fds
  void on_complete(int res, uint32_t flags, uint8_t slot) override;  // a ring accept

 private:
  static constexpr uint8_t kRingAccepts = 4;

  void admit(net::Fd client, const net::SocketAddress& peer);
  // Counts and logs a failed accept; true if it was a shortage (then paused).
  bool accept_failed(int err);
  void pause();
  void arm_accept(uint8_t slot);
  void maybe_delete();

  Worker& worker_;
  std::shared_ptr<const ListenerRuntime> runtime_;
  net::Fd fd_;
  net::Timer resume_;
  // Ring accepts: where each writes the peer's address, and which are queued.
  std::unique_ptr<std::array<net::SocketAddress, kRingAccepts>> peers_;
  uint8_t armed_ = 0;  // bit per slot
  bool paused_ = false;
  bool retired_ = false;
};

}  // namespace ferry::proxy
