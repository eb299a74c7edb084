#include "proxy/stats.h"

#include <fmt/format.h>

#include <map>

namespace ferry::proxy {
namespace {

std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// A server the running configuration names. Counters of servers a reload
// removed stay (Prometheus counters must not vanish), but their state does
// not: a removed server that was up must not hide that none is up now.
bool configured(const Runtime* rt, const ServerMetrics& sm) {
  if (rt == nullptr) return true;
  for (const auto& up : rt->upstreams) {
    if (up->name() != sm.upstream) continue;
    for (const net::HostPort& hp : up->config().servers) {
      if (hp.to_string() == sm.server) return true;
    }
  }
  return false;
}

std::string html_escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

class Writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(const char* name,
              std::initializer_list<std::pair<const char*, std::string_view>> labels,
              uint64_t value) {
    out_ += name;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, v] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += fmt::format("{}=\"{}\"", k, label_value(v));
      }
      out_ += '}';
    }
    out_ += fmt::format(" {}\n", value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string render_prometheus(const StatsSnapshot& s) {
  const Metrics& m = *s.metrics;
  Writer w;
  using LC = ListenerCounters;
  auto per_listener = [&](const char* name, const char* type, const char* help,
                          Counter LC::*field) {
    w.family(name, type, help);
    m.for_each_listener([&](const ListenerMetrics& l) {
      w.sample(name, {{"listener", l.name}}, l.sum(field));
    });
  };
  // A counter family split by one label, one field per value.
  struct Part {
    const char* value;
    Counter LC::*field;
  };
  auto per_listener_by = [&](const char* name, const char* help, const char* label,
                             std::initializer_list<Part> parts) {
    w.family(name, "counter", help);
    m.for_each_listener([&](const ListenerMetrics& l) {
      for (const Part& p : parts)
        w.sample(name, {{"listener", l.name}, {label, p.value}}, l.sum(p.field));
    });
  };

  per_listener("ferry_connections_accepted_total", "counter", "Connections accepted.",
               &LC::accepted);
  w.family("ferry_connections_active", "gauge", "Connections open now.");
  m.for_each_listener([&](const ListenerMetrics& l) {
    w.sample("ferry_connections_active", {{"listener", l.name}},
             l.active.load(std::memory_order_relaxed));
  });
  w.family("ferry_connections_refused_total", "counter",
           "Connections turned away before relaying, by reason.");
  m.for_each_listener([&](const ListenerMetrics& l) {
    for (size_t r = 0; r < static_cast<size_t>(Refusal::count); ++r) {
      w.sample("ferry_connections_refused_total",
               {{"listener", l.name}, {"reason", refusal_name(static_cast<Refusal>(r))}},
               l.sum_refused(static_cast<Refusal>(r)));
    }
  });
  w.family("ferry_connections_closed_total", "counter", "Connections closed, by reason.");
  m.for_each_listener([&](const ListenerMetrics& l) {
    for (size_t r = 0; r < static_cast<size_t>(CloseReason::count); ++r) {
      w.sample("ferry_connections_closed_total",
               {{"listener", l.name}, {"reason", close_reason_name(static_cast<CloseReason>(r))}},
               l.sum_closed(static_cast<CloseReason>(r)));
    }
  });
  per_listener_by("ferry_bytes_total", "Bytes relayed, by direction.", "direction",
                  {{"client_to_upstream", &LC::bytes_from_clients},
                   {"upstream_to_client", &LC::bytes_to_clients}});
  per_listener("ferry_tls_handshakes_total", "counter", "TLS handshakes completed.",
               &LC::tls_handshakes);
  per_listener_by(
      "ferry_tls_handshake_failures_total",
      "TLS handshakes that failed or did not finish in time, by reason.", "reason",
      {{"error", &LC::tls_handshake_failures}, {"timeout", &LC::tls_handshake_timeouts}});
  per_listener("ferry_accept_errors_total", "counter",
               "Accepts that failed for want of file descriptors or memory (listener paused).",
               &LC::accept_failures);
  per_listener_by("ferry_proxy_header_errors_total", "PROXY protocol headers refused, by reason.",
                  "reason",
                  {{"invalid", &LC::proxy_header_errors}, {"timeout", &LC::proxy_header_timeouts}});

  w.family("ferry_upstream_server_up", "gauge",
           "1 when the server is resolved and passes health checks.");
  m.for_each_server([&](const ServerMetrics& sm) {
    if (!configured(s.runtime, sm)) return;
    w.sample("ferry_upstream_server_up", {{"upstream", sm.upstream}, {"server", sm.server}},
             sm.usable() ? 1 : 0);
  });
  w.family("ferry_upstream_server_resolved", "gauge", "1 when the server's name has addresses.");
  m.for_each_server([&](const ServerMetrics& sm) {
    if (!configured(s.runtime, sm)) return;
    w.sample("ferry_upstream_server_resolved", {{"upstream", sm.upstream}, {"server", sm.server}},
             sm.resolved.load(std::memory_order_relaxed) ? 1 : 0);
  });
  w.family("ferry_upstream_connects_total", "counter", "Upstream connections established.");
  m.for_each_server([&](const ServerMetrics& sm) {
    w.sample("ferry_upstream_connects_total", {{"upstream", sm.upstream}, {"server", sm.server}},
             sm.connects.load(std::memory_order_relaxed));
  });
  w.family("ferry_upstream_connect_failures_total", "counter",
           "Upstream connection attempts that failed or timed out.");
  m.for_each_server([&](const ServerMetrics& sm) {
    w.sample("ferry_upstream_connect_failures_total",
             {{"upstream", sm.upstream}, {"server", sm.server}},
             sm.connect_failures.load(std::memory_order_relaxed));
  });
  w.family("ferry_upstream_health_check_failures_total", "counter", "Failed health checks.");
  m.for_each_server([&](const ServerMetrics& sm) {
    w.sample("ferry_upstream_health_check_failures_total",
             {{"upstream", sm.upstream}, {"server", sm.server}},
             sm.health_checks_failed.load(std::memory_order_relaxed));
  });

  w.family("ferry_active_connections_total", "gauge", "Connections open now, all listeners.");
  w.sample("ferry_active_connections_total", {}, m.active_value());
  w.family("ferry_max_connections", "gauge", "Configured global connection cap.");
  w.sample("ferry_max_connections", {},
           s.runtime != nullptr ? s.runtime->config.max_connections : 0);
  w.family("ferry_draining", "gauge", "1 while shutting down.");
  w.sample("ferry_draining", {}, s.draining ? 1 : 0);
  w.family("ferry_uptime_seconds", "gauge", "Seconds since start.");
  w.sample("ferry_uptime_seconds", {}, s.uptime_s);
  return w.take();
}

std::string render_html(const StatsSnapshot& s) {
  const Metrics& m = *s.metrics;
  using LC = ListenerCounters;
  std::string out =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>ferry-proxy</title>"
      "<meta http-equiv=\"refresh\" content=\"10\"><style>body{font-family:sans-serif;margin:2em}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
      "th{background:#eee}td:first-child{text-align:left}</style></head><body>";
  out +=
      fmt::format("<h1>ferry-proxy</h1><p>Up {} s. Open connections: {} of {}.{}</p>", s.uptime_s,
                  m.active_value(), s.runtime != nullptr ? s.runtime->config.max_connections : 0,
                  s.draining ? " <b>Draining.</b>" : "");
  out +=
      "<h2>Listeners</h2><table><tr><th>listener</th><th>address</th><th>active</th>"
      "<th>accepted</th><th>refused</th><th>bytes in</th><th>bytes out</th>"
      "<th>TLS failures</th><th>PROXY header errors</th></tr>";
  m.for_each_listener([&](const ListenerMetrics& l) {
    uint64_t refused = 0;
    for (size_t r = 0; r < static_cast<size_t>(Refusal::count); ++r)
      refused += l.sum_refused(static_cast<Refusal>(r));
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td></tr>",
        html_escape(l.name), html_escape(l.listen), l.active.load(std::memory_order_relaxed),
        l.sum(&LC::accepted), refused, l.sum(&LC::bytes_from_clients), l.sum(&LC::bytes_to_clients),
        l.sum(&LC::tls_handshake_failures) + l.sum(&LC::tls_handshake_timeouts),
        l.sum(&LC::proxy_header_errors) + l.sum(&LC::proxy_header_timeouts));
  });
  out +=
      "</table><h2>Upstream servers</h2><table><tr><th>upstream</th><th>server</th>"
      "<th>state</th><th>connects</th><th>connect failures</th></tr>";
  m.for_each_server([&](const ServerMetrics& sm) {
    if (!configured(s.runtime, sm)) return;
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       html_escape(sm.upstream), html_escape(sm.server),
                       sm.usable()                                   ? "up"
                       : sm.resolved.load(std::memory_order_relaxed) ? "<b>down</b>"
                                                                     : "<b>unresolved</b>",
                       sm.connects.load(std::memory_order_relaxed),
                       sm.connect_failures.load(std::memory_order_relaxed));
  });
  out +=
      "</table><p><a href=\"/metrics\">/metrics</a> &middot; <a "
      "href=\"/healthz\">/healthz</a></p></body></html>\n";
  return out;
}

net::HttpResponse render_healthz(const StatsSnapshot& s) {
  std::string problems;
  if (s.draining) problems += "draining\n";
  if (s.runtime != nullptr) {
    for (const auto& up : s.runtime->upstreams) {
      if (!up->any_up()) problems += "upstream " + up->name() + ": no server up\n";
    }
  }
  if (problems.empty()) return {200, "text/plain; charset=utf-8", "ok\n"};
  return {503, "text/plain; charset=utf-8", problems};
}

net::HttpResponse serve_stats(const StatsSnapshot& s, const net::HttpRequest& req) {
  if (req.path == "/metrics")
    return {200, "text/plain; version=0.0.4; charset=utf-8", render_prometheus(s)};
  if (req.path == "/healthz") return render_healthz(s);
  if (req.path == "/") return {200, "text/html; charset=utf-8", render_html(s)};
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

}  // namespace ferry::proxy
