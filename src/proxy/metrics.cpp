#include "proxy/metrics.h"

namespace ferry::proxy {

const char* refusal_name(Refusal r) {
  switch (r) {
    case Refusal::global_limit:
      return "global_limit";
    case Refusal::listener_limit:
      return "listener_limit";
    case Refusal::per_ip_limit:
      return "per_ip_limit";
    case Refusal::per_ip_rate:
      return "per_ip_rate";
    case Refusal::no_upstream:
      return "no_upstream";
    case Refusal::count:
      break;
  }
  return "unknown";
}

const char* close_reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::done:
      return "done";
    case CloseReason::client_error:
      return "error";
    case CloseReason::idle_timeout:
      return "idle_timeout";
    case CloseReason::fin_timeout:
      return "fin_timeout";
    case CloseReason::handshake_timeout:
      return "handshake_timeout";
    case CloseReason::proxy_header:
      return "proxy_header";
    case CloseReason::tls_handshake:
      return "tls_handshake";
    case CloseReason::connect_failed:
      return "connect_failed";
    case CloseReason::drained:
      return "drained";
    case CloseReason::refused:
      return "refused";
    case CloseReason::count:
      break;
  }
  return "unknown";
}

uint64_t ListenerMetrics::sum(Counter ListenerCounters::*field) const {
  uint64_t total = 0;
  for (const auto& w : per_worker) total += ((*w).*field).get();
  return total;
}

uint64_t ListenerMetrics::sum_refused(Refusal r) const {
  uint64_t total = 0;
  for (const auto& w : per_worker) total += w->refused[static_cast<size_t>(r)].get();
  return total;
}

uint64_t ListenerMetrics::sum_closed(CloseReason r) const {
  uint64_t total = 0;
  for (const auto& w : per_worker) total += w->closed_by[static_cast<size_t>(r)].get();
  return total;
}

ListenerMetrics& Metrics::listener(const std::string& name, const std::string& listen) {
  std::lock_guard lock(mu_);
  for (auto& l : listeners_) {
    if (l->name == name) {
      l->listen = listen;
      return *l;
    }
  }
  auto l = std::make_unique<ListenerMetrics>();
  l->name = name;
  l->listen = listen;
  for (size_t i = 0; i < workers_; ++i)
    l->per_worker.push_back(std::make_unique<ListenerCounters>());
  listeners_.push_back(std::move(l));
  return *listeners_.back();
}

ServerMetrics& Metrics::server(const std::string& upstream, const std::string& server) {
  std::lock_guard lock(mu_);
  for (auto& s : servers_) {
    if (s->upstream == upstream && s->server == server) {
      return *s;
    }
  }
  auto s = std::make_unique<ServerMetrics>();
  s->upstream = upstream;
  s->server = server;
  servers_.push_back(std::move(s));
  return *servers_.back();
}

}  // namespace ferry::proxy
