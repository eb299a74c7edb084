#include "proxy/upstream.h"

#include "common/log.h"

namespace ferry::proxy {

ServerState::ServerState(const std::string& upstream, net::HostPort target, ServerMetrics& metrics)
    : target_(std::move(target)), metrics_(metrics) {
  (void)upstream;
  auto literal = net::SocketAddress::from_host_port(target_);
  numeric_ = literal.has_value();
  if (numeric_) set_addresses({*literal});
}

std::shared_ptr<const AddressList> ServerState::addresses() const {
  std::lock_guard lock(mu_);
  return addresses_;
}

void ServerState::set_addresses(AddressList list) {
  bool any = !list.empty();
  auto shared = std::make_shared<const AddressList>(std::move(list));
  {
    std::lock_guard lock(mu_);
    addresses_ = std::move(shared);
  }
  metrics_.resolved.store(any, std::memory_order_relaxed);
}

bool ServerState::next_address(net::SocketAddress& out) {
  auto list = addresses();
  if (!list || list->empty()) return false;
  out = (*list)[rotate_.fetch_add(1, std::memory_order_relaxed) % list->size()];
  return true;
}

bool ServerState::address_at(uint32_t start, uint32_t i, net::SocketAddress& out) const {
  auto list = addresses();
  if (!list || i >= list->size()) return false;
  out = (*list)[(start % list->size() + i) % list->size()];  // no wrap at 2^32
  return true;
}

void ServerState::mark(bool up, const char* why) {
  bool was = metrics_.up.exchange(up, std::memory_order_relaxed);
  if (was == up) return;
  if (up) {
    // A fresh start: the failures that took it down do not count again.
    metrics_.consecutive_failures.store(0, std::memory_order_relaxed);
    log::info("upstream_server_up", {{"upstream", upstream()}, {"server", label()}});
  } else {
    log::warn("upstream_server_down",
              {{"upstream", upstream()}, {"server", label()}, {"reason", why}});
  }
}

UpstreamState::UpstreamState(const UpstreamConfig& config, Metrics& metrics) : config_(config) {
  for (const net::HostPort& hp : config_.servers) {
    ServerMetrics& m = metrics.server(config_.name, hp.to_string());
    servers_.push_back(std::make_unique<ServerState>(config_.name, hp, m));
  }
}

void UpstreamState::take_effect() {
  for (auto& s : servers_) {
    ServerMetrics& m = s->metrics();
    m.checked.store(health_checked(), std::memory_order_relaxed);
    if (!health_checked()) {
      // Only a health check brings a server back up: with checks off (maybe
      // turned off by this reload) none is down.
      m.consecutive_failures.store(0, std::memory_order_relaxed);
      s->mark(true, "");
    }
  }
}

bool UpstreamState::any_up() const {
  for (const auto& s : servers_) {
    if (s->up()) return true;
  }
  return false;
}

ServerState* UpstreamState::candidate(uint32_t start, uint32_t& attempt) {
  const auto n = static_cast<uint32_t>(servers_.size());
  while (attempt < n) {
    ServerState* s = servers_[(start % n + attempt) % n].get();  // no wrap at 2^32
    ++attempt;
    if (s->up()) return s;
  }
  return nullptr;
}

void UpstreamState::inherit(UpstreamState& previous) {
  for (auto& s : servers_) {
    if (s->numeric()) continue;
    for (auto& old : previous.servers_) {
      if (old->target() == s->target()) {
        if (auto list = old->addresses()) s->set_addresses(*list);
        break;
      }
    }
  }
}

}  // namespace ferry::proxy
