// What the stats endpoint serves: /metrics (Prometheus text format), / (a
// small HTML page of the same numbers) and /healthz. Reads the per-worker
// counters and sums them; never touches a worker's state otherwise.
#pragma once

#include <string>

#include "net/http_server.h"
#include "proxy/metrics.h"
#include "proxy/runtime.h"

namespace ferry::proxy {

struct StatsSnapshot {
  const Metrics* metrics = nullptr;
  const Runtime* runtime = nullptr;
  bool draining = false;
  uint64_t uptime_s = 0;
};

std::string render_prometheus(const StatsSnapshot& s);
std::string render_html(const StatsSnapshot& s);
// 200 "ok" when every upstream has a server up and we are not draining;
// otherwise 503 naming what is wrong.
net::HttpResponse render_healthz(const StatsSnapshot& s);

net::HttpResponse serve_stats(const StatsSnapshot& s, const net::HttpRequest& req);

}  // namespace ferry::proxy
