// Counters for /metrics, / and /healthz.
//
// Hot-path counters are per worker: each has exactly one writer thread, which
// bumps it with a relaxed load and store (a plain add, no locked instruction);
// the stats thread sums the workers' values when it renders. Nothing a worker
// writes per byte is shared with another core.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ferry::proxy {

class Counter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Why a connection was turned away before any byte was relayed.
enum class Refusal : uint8_t {
  global_limit,    // max_connections
  listener_limit,  // [[listener]] max_connections
  per_ip_limit,    // [limits] per_ip_connections
  per_ip_rate,     // [limits] per_ip_new_per_second
  no_upstream,     // every server of the upstream is down
  count
};
const char* refusal_name(Refusal r);

// How an admitted connection ended.
enum class CloseReason : uint8_t {
  done,          // both sides closed in order
  client_error,  // reset or TLS error on the client side, or an error either way
  idle_timeout,
  fin_timeout,        // half-closed for longer than fin_timeout
  handshake_timeout,  // PROXY header or TLS handshake not done in time
  proxy_header,       // malformed PROXY header
  tls_handshake,      // TLS handshake failed
  connect_failed,     // no upstream server accepted the connection
  drained,            // still open when drain_timeout ran out
  refused,            // see the Refusal counters for why
  count
};
const char* close_reason_name(CloseReason r);

struct alignas(64) ListenerCounters {
  Counter accepted;
  Counter closed;
  std::array<Counter, static_cast<size_t>(Refusal::count)> refused;
  std::array<Counter, static_cast<size_t>(CloseReason::count)> closed_by;
  Counter bytes_from_clients;
  Counter bytes_to_clients;
  Counter tls_handshakes;
  Counter tls_handshake_failures;
  Counter tls_handshake_timeouts;
  Counter proxy_header_errors;
  Counter proxy_header_timeouts;
  Counter accept_failures;  // accept(2) out of descriptors or memory
};

// One listener's counters, one block per worker. Never freed: a listener
// removed by a reload keeps its totals (Prometheus counters must not go back).
struct ListenerMetrics {
  std::string name;
  std::string listen;
  std::vector<std::unique_ptr<ListenerCounters>> per_worker;
  std::atomic<uint32_t> active{0};  // for the per-listener cap, shared

  uint64_t sum(Counter ListenerCounters::*field) const;
  uint64_t sum_refused(Refusal r) const;
  uint64_t sum_closed(CloseReason r) const;
};

struct ServerMetrics {
  // What clients get: healthy and resolved.
  bool usable() const {
    return up.load(std::memory_order_relaxed) && resolved.load(std::memory_order_relaxed);
  }

  std::string upstream;
  std::string server;  // host:port as configured
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<bool> up{true};         // health (checks and passive)
  std::atomic<bool> resolved{false};  // has at least one address
  std::atomic<uint64_t> health_checks_failed{0};
  // Failed connects in a row from workers; a few mark the server down until
  // the next good health check (passive checking).
  std::atomic<uint32_t> consecutive_failures{0};
  // Whether the configuration in force checks this server (set when it takes
  // effect): connections of an older one must not mark it down after a
  // reload turned checks off, since only a check would bring it back.
  std::atomic<bool> checked{true};
};

class Metrics {
 public:
  explicit Metrics(size_t workers) : workers_(workers) {}

  // Find-or-create; the returned object lives as long as Metrics.
  ListenerMetrics& listener(const std::string& name, const std::string& listen);
  ServerMetrics& server(const std::string& upstream, const std::string& server);

  size_t workers() const { return workers_; }
  std::atomic<uint64_t>& active() { return active_; }
  uint64_t active_value() const { return active_.load(std::memory_order_relaxed); }

  // Snapshot access for rendering (under the registry lock).
  template <typename Fn>
  void for_each_listener(Fn&& fn) const {
    std::lock_guard lock(mu_);
    for (const auto& l : listeners_) fn(*l);
  }
  template <typename Fn>
  void for_each_server(Fn&& fn) const {
    std::lock_guard lock(mu_);
    for (const auto& s : servers_) fn(*s);
  }

 private:
  size_t workers_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<ListenerMetrics>> listeners_;
  std::vector<std::unique_ptr<ServerMetrics>> servers_;
  std::atomic<uint64_t> active_{0};  // admitted connections, all listeners
};

}  // namespace ferry::proxy
