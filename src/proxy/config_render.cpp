// render_config(): a Config as a commented TOML file that parse_config() reads
// back to an equal Config. Every setting is written out, defaults included, so
// the output doubles as a template (`ferry-proxy --print-config`).
#include <optional>
#include <string>
#include <variant>

#include "proxy/config.h"
#include "proxy/config_text.h"
#include "proxy/config_values.h"

namespace ferry::proxy {
namespace {

class Writer {
 public:
  void comment(std::string_view text) { out_ += "# " + std::string(text) + "\n"; }
  void blank() { out_ += "\n"; }
  void header(std::string_view h) { out_ += std::string(h) + "\n"; }
  void raw(std::string_view k, std::string_view v) {
    out_ += std::string(k) + " = " + std::string(v) + "\n";
  }
  void str(std::string_view k, std::string_view v) { raw(k, text::quote(v)); }
  void boolean(std::string_view k, bool v) { raw(k, v ? "true" : "false"); }
  void number(std::string_view k, uint64_t v) { raw(k, std::to_string(v)); }
  void duration(std::string_view k, Millis v) { raw(k, text::quote(format_duration(v))); }
  void strings(std::string_view k, const std::vector<std::string>& v) {
    std::string list = "[";
    for (size_t i = 0; i < v.size(); ++i) list += (i ? ", " : "") + text::quote(v[i]);
    raw(k, list + "]");
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void render_globals(Writer& w, const Config& c) {
  w.comment("ferry-proxy configuration. docs/proxy.md describes every key.");
  w.blank();
  w.comment("Global cap on relayed connections; the share link printed at start.");
  w.number("max_connections", c.max_connections);
  if (c.public_host.empty()) {
    w.comment("public_host = \"203.0.113.7\"   # this machine's address, for the share link");
  } else {
    w.str("public_host", c.public_host);
  }
  w.str("share_link", values::share_link_name(c.share_link));
  w.comment("On SIGTERM: stop accepting, let open connections finish this long.");
  w.duration("drain_timeout", c.drain_timeout);
  w.boolean("log_client_addresses", c.log_client_addresses);
  w.str("log_level", c.log_level);
  w.comment("Event loops; 0 = one per CPU this process may use.");
  w.number("workers", c.workers);
  w.comment("auto: with one worker per CPU, pin each to its own CPU (for dedicated CPUs).");
  w.str("cpu_affinity", values::cpu_affinity_name(c.cpu_affinity));
  w.str("io_uring", values::io_uring_name(c.io_uring));
  if (c.user.empty()) {
    w.comment("user = \"ferry\"   # drop root to this user after binding the ports");
  } else {
    w.str("user", c.user);
  }
}

void render_stats_limits_tls(Writer& w, const Config& c) {
  w.blank();
  w.comment("Stats page /, Prometheus /metrics and /healthz over HTTP: keep it private.");
  w.header("[stats]");
  w.boolean("enabled", c.stats.enabled);
  w.str("listen", c.stats.listen.to_string());

  w.blank();
  w.comment("Timeouts, and admission per client IP address (0 = unlimited).");
  w.header("[limits]");
  w.duration("connect_timeout", c.limits.connect_timeout);
  w.duration("idle_timeout", c.limits.idle_timeout);
  w.duration("handshake_timeout", c.limits.handshake_timeout);
  w.duration("fin_timeout", c.limits.fin_timeout);
  w.number("per_ip_connections", c.limits.per_ip_connections);
  w.number("per_ip_new_per_second", c.limits.per_ip_new_per_second);

  w.blank();
  w.comment("TLS listeners. Without cert and key, a self-signed certificate is made at start.");
  w.header("[tls]");
  if (c.tls.cert.empty() && c.tls.key.empty()) {
    w.comment("cert = \"/etc/ferry/cert.pem\"");
    w.comment("key = \"/etc/ferry/key.pem\"");
  } else {
    w.str("cert", c.tls.cert);
    w.str("key", c.tls.key);
  }
  w.str("key_type", values::key_type_name(c.tls.key_type));
  w.strings("san_dns", c.tls.san_dns);
  w.strings("san_ip", c.tls.san_ip);
}

void render_listeners(Writer& w, const Config& c) {
  w.blank();
  w.comment("Where clients connect: one table per address; each goes to one upstream.");
  for (const ListenerConfig& l : c.listeners) {
    w.header("[[listener]]");
    // The name defaults to the listen text; only a different one is written.
    if (l.name != l.listen.to_string()) w.str("name", l.name);
    w.str("listen", l.listen.to_string());
    w.boolean("tls", l.tls);
    w.boolean("accept_proxy", l.accept_proxy);
    w.str("upstream", l.upstream);
    w.number("max_connections", l.max_connections);
    w.blank();
  }
}

void render_upstreams(Writer& w, const Config& c) {
  w.comment("Where connections go. Nothing but these servers is ever dialled.");
  for (const auto& [name, u] : c.upstreams) {
    w.header("[upstream." + text::key(name) + "]");
    std::vector<std::string> servers;
    for (const auto& s : u.servers) servers.push_back(s.to_string());
    w.strings("servers", servers);
    w.str("send_proxy", values::proxy_header_name(u.send_proxy));
    w.duration("health_check_interval", u.health_check_interval);
    w.duration("resolve_interval", u.resolve_interval);
    w.blank();
  }
}

}  // namespace

std::string render_config(const Config& config) {
  Writer w;
  render_globals(w, config);
  render_stats_limits_tls(w, config);
  render_listeners(w, config);
  render_upstreams(w, config);
  return w.take();
}

std::optional<ConfigError> validate_config(const Config& config) {
  // The parser holds every rule; a faithful rendering lets it judge a Config
  // that never was a file.
  ConfigResult r = parse_config(render_config(config), config.source);
  auto* e = std::get_if<ConfigError>(&r);
  if (!e) return std::nullopt;
  e->line = 0;
  e->column = 0;
  return std::move(*e);
}

}  // namespace ferry::proxy
