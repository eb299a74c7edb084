// A worker: one thread, one event loop, its own SO_REUSEPORT socket for each
// listener, and every connection it accepted. Workers share nothing on the
// hot path except the admission atomics (one touch per connection).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "net/relay.h"
#include "proxy/admission.h"
#include "proxy/metrics.h"
#include "proxy/runtime.h"

namespace ferry::proxy {

class Connection;
class ListenerSocket;

// State every worker shares (owned by ProxyServer).
struct SharedState {
  explicit SharedState(Metrics& m) : metrics(m) {}
  Metrics& metrics;
  PerIpLimiter per_ip;
  std::atomic<uint64_t> max_connections{0};
};

class Worker {
 public:
  Worker(size_t index, SharedState& shared);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();

  // A listener for this worker: a fresh socket, or an invalid Fd meaning
  // "keep the socket you already have for runtime->bind_address".
  struct Binding {
    std::shared_ptr<const ListenerRuntime> runtime;
    net::Fd fd;
  };
  // Gives the worker's loop an io_uring (before apply() and start()); false
  // with `error` when the kernel cannot. drop_ring() undoes it.
  bool use_ring(std::string& error);
  void drop_ring();

  // Replaces the listener set. Loop thread, or before start().
  void apply(std::vector<Binding> bindings);

  // Runs the loop in a new thread, pinned to `cpu` unless it is -1;
  // `on_stopped` runs on that thread when the loop has ended (drained or closed).
  void start(int cpu, std::function<void()> on_stopped);
  void join();
  // Loop thread: stop accepting; the loop ends when the last connection does.
  void drain();
  // Loop thread: close every connection now, then end the loop.
  void close_all(CloseReason why);

  size_t index() const { return index_; }
  net::EventLoop& loop() { return loop_; }
  net::RelayScratch& scratch() { return scratch_; }
  SharedState& shared() { return shared_; }
  size_t connections() const { return connections_.load(std::memory_order_relaxed); }

  void attach(Connection* c);
  void detach(Connection* c);

 private:
  size_t index_;
  SharedState& shared_;
  net::RelayScratch scratch_;  // before loop_: outlives connections the loop buries
  net::EventLoop loop_;
  // Closes a listener; deletion waits for the end of the event batch.
  void retire(std::unique_ptr<ListenerSocket> l);

  std::vector<std::unique_ptr<ListenerSocket>> listeners_;
  Connection* head_ = nullptr;
  std::atomic<size_t> connections_{0};
  bool draining_ = false;
  std::thread thread_;
};

}  // namespace ferry::proxy
