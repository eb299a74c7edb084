#include "proxy/config_checks.h"

#include "proxy/config_text.h"

namespace ferry::proxy::checks {
namespace {

ConfigError error_at(const Config& config, Place p, std::string key, std::string message) {
  return ConfigError{config.source, p.line, p.column, std::move(key), std::move(message)};
}

std::string listener_key(size_t i, std::string_view field) {
  return text::join(text::index("listener", i), field);
}

std::string upstream_list(const Config& config) {
  std::string out;
  for (const auto& [name, upstream] : config.upstreams) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out.empty() ? "none" : out;
}

// "X is the same address as Y" or "X overlaps Y (why)".
std::string clash(const net::HostPort& a, const net::HostPort& b) {
  auto sa = net::SocketAddress::from_host_port(a);
  auto sb = net::SocketAddress::from_host_port(b);
  if (sa && sb && sa->unmapped() == sb->unmapped()) {
    return a.to_string() + " is the same address as " + b.to_string();
  }
  return a.to_string() + " overlaps " + b.to_string() +
         " (a wildcard address takes every address of its family on that port; [::] takes "
         "IPv4 too)";
}

std::string where(Place p) {
  return p.line > 0 ? " (line " + std::to_string(p.line) + ")" : std::string();
}

}  // namespace

bool listen_addresses_overlap(const net::HostPort& a, const net::HostPort& b) {
  if (a.port != b.port) return false;
  auto sa = net::SocketAddress::from_host_port(a);
  auto sb = net::SocketAddress::from_host_port(b);
  if (!sa || !sb) return a.host == b.host;
  net::SocketAddress x = sa->unmapped(), y = sb->unmapped();
  if (x == y) return true;
  // A dual-stack [::] socket takes every address on its port, IPv4 included.
  if ((x.is_v6() && x.unspecified()) || (y.is_v6() && y.unspecified())) return true;
  // 0.0.0.0 takes every IPv4 address on its port.
  return (x.is_v4() && x.unspecified() && y.is_v4()) || (y.is_v4() && y.unspecified() && x.is_v4());
}

std::optional<ConfigError> check_cross_references(const Config& config,
                                                  const ConfigPlaces& places) {
  if (config.listeners.empty()) {
    return error_at(config, {}, "listener", "no listeners: add at least one [[listener]]");
  }
  const auto& ls = config.listeners;
  for (size_t i = 0; i < ls.size(); ++i) {
    const ListenerPlaces& p = places.listeners.at(i);
    if (!config.upstreams.contains(ls[i].upstream)) {
      return error_at(config, p.upstream, listener_key(i, "upstream"),
                      "no upstream named " + text::quote(ls[i].upstream) +
                          " (defined: " + upstream_list(config) + ")");
    }
    for (size_t j = 0; j < i; ++j) {
      if (listen_addresses_overlap(ls[j].listen, ls[i].listen)) {
        return error_at(config, p.listen, listener_key(i, "listen"),
                        clash(ls[i].listen, ls[j].listen) + " of listener[" + std::to_string(j) +
                            "]" + where(places.listeners.at(j).table));
      }
    }
    for (size_t j = 0; j < i; ++j) {
      if (ls[j].name == ls[i].name) {
        return error_at(config, p.name, listener_key(i, "name"),
                        "listener name " + text::quote(ls[i].name) +
                            " is already used by listener[" + std::to_string(j) + "]" +
                            where(places.listeners.at(j).table) +
                            "; names must be unique (they label metrics)");
      }
    }
  }
  if (config.stats.enabled) {
    for (size_t i = 0; i < ls.size(); ++i) {
      if (!listen_addresses_overlap(config.stats.listen, ls[i].listen)) continue;
      if (places.stats_listen.line > 0) {
        return error_at(config, places.stats_listen, "stats.listen",
                        clash(config.stats.listen, ls[i].listen) + " of listener[" +
                            std::to_string(i) + "]" + where(places.listeners.at(i).table));
      }
      return error_at(config, places.listeners.at(i).listen, listener_key(i, "listen"),
                      clash(ls[i].listen, config.stats.listen) +
                          " of the stats page; move that with [stats] listen = \"IP:PORT\"");
    }
  }
  return std::nullopt;
}

}  // namespace ferry::proxy::checks
