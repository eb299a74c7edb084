// Upstreams at run time: the configured servers (the allow-list, fixed at
// config load: nothing a client sends can add to it), their resolved
// addresses, and whether each is up.
//
// Workers read this on every new connection; the resolver thread and the
// health checker write it. Address lists are swapped whole under a small
// per-server lock; health is an atomic flag.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/address.h"
#include "proxy/config.h"
#include "proxy/metrics.h"

namespace ferry::proxy {

using AddressList = std::vector<net::SocketAddress>;

class ServerState {
 public:
  ServerState(const std::string& upstream, net::HostPort target, ServerMetrics& metrics);

  const net::HostPort& target() const { return target_; }
  const std::string& label() const { return metrics_.server; }
  const std::string& upstream() const { return metrics_.upstream; }
  // A literal IP needs no resolver.
  bool numeric() const { return numeric_; }

  std::shared_ptr<const AddressList> addresses() const;
  void set_addresses(AddressList list);
  // The next address to dial, rotating through the resolved ones.
  bool next_address(net::SocketAddress& out);
  // Where a new connection starts among this server's addresses, then the
  // i-th address from there; false once i has gone past every address.
  uint32_t next_rotation() { return rotate_.fetch_add(1, std::memory_order_relaxed); }
  bool address_at(uint32_t start, uint32_t i, net::SocketAddress& out) const;

  bool up() const { return metrics_.usable(); }
  // Health transitions are logged once, not per check.
  void mark(bool up, const char* why);
  ServerMetrics& metrics() { return metrics_; }

 private:
  net::HostPort target_;
  ServerMetrics& metrics_;
  bool numeric_;
  mutable std::mutex mu_;
  std::shared_ptr<const AddressList> addresses_;
  std::atomic<uint32_t> rotate_{0};
};

class UpstreamState {
 public:
  UpstreamState(const UpstreamConfig& config, Metrics& metrics);

  const UpstreamConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  size_t size() const { return servers_.size(); }
  ServerState& server(size_t i) { return *servers_[i]; }
  bool health_checked() const { return config_.health_check_interval.count() > 0; }

  bool any_up() const;
  // Where a new connection starts in the round robin.
  uint32_t next_start() { return rr_.fetch_add(1, std::memory_order_relaxed); }
  // Candidate number `attempt` (0, 1, ...) for a connection that started at
  // `start`, skipping servers that are down; nullptr once all were offered.
  ServerState* candidate(uint32_t start, uint32_t& attempt);

  // This configuration is now in force (proxy::take_effect): its health
  // settings apply to the servers' shared state.
  void take_effect();

  // After a reload: take over resolved addresses of servers that stayed.
  // (Health carries over by itself: it lives in the shared ServerMetrics.)
  void inherit(UpstreamState& previous);

 private:
  UpstreamConfig config_;
  std::vector<std::unique_ptr<ServerState>> servers_;
  std::atomic<uint32_t> rr_{0};
};

}  // namespace ferry::proxy
