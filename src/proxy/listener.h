// A worker's listening socket for one [[listener]]: accepts, applies the
// caps that need no client bytes (global, per listener, upstream down), and
// hands each admitted socket to a new Connection.
#pragma once

#include <memory>

#include "net/event_loop.h"
#include "net/fd.h"
#include "proxy/runtime.h"

namespace ferry::proxy {

class Worker;

class ListenerSocket final : public net::Deferred, public net::IoHandler, public net::TimerHandler {
 public:
  ListenerSocket(Worker& worker, std::shared_ptr<const ListenerRuntime> runtime, net::Fd fd);
  ListenerSocket(const ListenerSocket&) = delete;
  ListenerSocket& operator=(const ListenerSocket&) = delete;
  ~ListenerSocket() override;

  // Stops accepting now. The object itself must then go through the loop's
  // defer_delete: an event for it may still be waiting in this batch.
  void close();

  const net::SocketAddress& address() const { return runtime_->bind_address; }
  // New settings after a reload; the socket stays open.
  void update(std::shared_ptr<const ListenerRuntime> runtime) { runtime_ = std::move(runtime); }
  net::Fd take_fd() { return std::move(fd_); }

  void on_io(uint32_t events) override;
  void on_timer() override;  // resume accepting after running out of fds

 private:
  void admit(net::Fd client, const net::SocketAddress& peer);
  void pause();

  Worker& worker_;
  std::shared_ptr<const ListenerRuntime> runtime_;
  net::Fd fd_;
  net::Timer resume_;
};

}  // namespace ferry::proxy
