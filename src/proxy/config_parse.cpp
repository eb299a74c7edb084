// parse_config(): TOML text -> validated Config. toml++ does the syntax; this
// file walks the tree section by section, refusing anything it does not know,
// and hands the cross-section checks to config_checks.cpp.
#include <toml++/toml.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "net/host_names.h"
#include "proxy/config.h"
#include "proxy/config_checks.h"
#include "proxy/config_text.h"
#include "proxy/config_values.h"

namespace ferry::proxy {
namespace {

using checks::Place;

constexpr size_t kMaxListeners = 4096;
constexpr size_t kMaxServers = 256;
constexpr size_t kMaxSanEntries = 100;
// Far above what one machine can hold: a larger number is a typo.
constexpr int64_t kMaxCount = 10'000'000;
constexpr int64_t kMaxWorkers = 1024;
// Health checks and DNS refreshes more often than this would hammer upstreams.
constexpr Millis kMinInterval{1000};

// Thrown to stop at the first problem; parse_config() returns its error.
struct Stop {
  ConfigError error;
};

Place place_of(const toml::source_region& r) {
  return {static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
}

bool before(Place a, Place b) {
  return std::pair(a.line, a.column) < std::pair(b.line, b.column);
}

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// toml++ messages may quote the input; keep control characters out of them.
std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

std::string list(std::initializer_list<std::string_view> names) {
  std::string out;
  for (auto n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

class Parser {
 public:
  explicit Parser(const std::string& file) : file_(file) {}

  Config parse(const toml::table& root) {
    Config c;
    c.source = file_;
    only_keys(root, "",
              {"max_connections", "public_host", "share_link", "drain_timeout",
               "log_client_addresses", "log_level", "workers", "cpu_affinity", "io_uring", "user",
               "stats", "limits", "tls", "listener", "upstream"});
    get_count(root, "", "max_connections", 1, kMaxCount, c.max_connections);
    if (auto n = get_string(root, "", "public_host", c.public_host)) {
      if (!c.public_host.empty() && !net::is_dns_name(c.public_host) &&
          !net::is_ip_literal(c.public_host)) {
        fail(*n, "public_host", "must be a host name or an IP address, without port or brackets");
      }
    }
    if (auto n = get_string(root, "", "share_link", scratch_)) {
      auto v = values::parse_share_link(scratch_);
      if (!v) fail(*n, "share_link", "must be one of " + std::string(values::kShareLinkNames));
      c.share_link = *v;
    }
    get_duration(root, "", "drain_timeout", Millis(0), c.drain_timeout);
    get_bool(root, "", "log_client_addresses", c.log_client_addresses);
    if (auto n = get_string(root, "", "log_level", c.log_level)) {
      if (!values::is_log_level(c.log_level)) {
        fail(*n, "log_level", "must be one of " + std::string(values::kLogLevelNames));
      }
    }
    get_count(root, "", "workers", 0, kMaxWorkers, c.workers);
    if (auto n = get_string(root, "", "cpu_affinity", scratch_)) {
      auto v = values::parse_cpu_affinity(scratch_);
      if (!v) fail(*n, "cpu_affinity", "must be one of " + std::string(values::kCpuAffinityNames));
      c.cpu_affinity = *v;
    }
    if (auto n = get_string(root, "", "io_uring", scratch_)) {
      auto v = values::parse_io_uring(scratch_);
      if (!v) fail(*n, "io_uring", "must be one of " + std::string(values::kIoUringNames));
      c.io_uring = *v;
    }
    if (auto n = get_string(root, "", "user", c.user)) {
      if (!values::is_user_name(c.user)) {
        fail(*n, "user", "must be a user name: letters, digits, '.', '_', '-'");
      }
    }
    if (auto* t = get_table(root, "", "stats")) parse_stats(*t, c.stats);
    if (auto* t = get_table(root, "", "limits")) parse_limits(*t, c.limits);
    if (auto* t = get_table(root, "", "tls")) parse_tls(*t, c.tls);
    if (auto* t = get_table(root, "", "upstream")) parse_upstreams(*t, c.upstreams);
    if (const toml::node* n = root.get("listener")) parse_listeners(*n, c.listeners);
    if (auto e = checks::check_cross_references(c, places_)) throw Stop{std::move(*e)};
    return c;
  }

 private:
  [[noreturn]] void fail(Place p, std::string key, std::string message) const {
    throw Stop{ConfigError{file_, p.line, p.column, std::move(key), std::move(message)}};
  }
  [[noreturn]] void fail(const toml::node& n, std::string key, std::string message) const {
    fail(place_of(n.source()), std::move(key), std::move(message));
  }
  [[noreturn]] void wrong_type(const toml::node& n, std::string key, std::string_view want) const {
    fail(n, std::move(key),
         "expected " + std::string(want) + ", found " + std::string(type_name(n)));
  }

  // Refuses any key not in `allowed`, naming the first one in the file.
  void only_keys(const toml::table& t, std::string_view path,
                 std::initializer_list<std::string_view> allowed) const {
    const toml::key* first = nullptr;
    for (auto&& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
      if (!first || before(place_of(k.source()), place_of(first->source()))) first = &k;
    }
    if (first) {
      fail(place_of(first->source()), text::join(path, first->str()),
           "unknown key (expected one of: " + list(allowed) + ")");
    }
  }

  // Each getter leaves `out` at its default when the key is absent, and
  // returns the node it read (nullptr when absent) for later messages.
  const toml::node* get_bool(const toml::table& t, std::string_view path, std::string_view k,
                             bool& out) const {
    const toml::node* n = t.get(k);
    if (!n) return nullptr;
    if (!n->is_boolean()) wrong_type(*n, text::join(path, k), "a boolean (true or false)");
    out = n->as_boolean()->get();
    return n;
  }

  const toml::node* get_string(const toml::table& t, std::string_view path, std::string_view k,
                               std::string& out) const {
    const toml::node* n = t.get(k);
    if (!n) return nullptr;
    if (!n->is_string()) wrong_type(*n, text::join(path, k), "a string");
    out = n->as_string()->get();
    return n;
  }

  const toml::node* get_count(const toml::table& t, std::string_view path, std::string_view k,
                              int64_t min, int64_t max, uint32_t& out) const {
    static_assert(kMaxCount <= std::numeric_limits<uint32_t>::max());
    const toml::node* n = t.get(k);
    if (!n) return nullptr;
    if (!n->is_integer()) wrong_type(*n, text::join(path, k), "an integer");
    int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      fail(*n, text::join(path, k),
           "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = static_cast<uint32_t>(v);
    return n;
  }

  // A duration string ("5s"); `min` > 0 refuses zero and anything shorter.
  const toml::node* get_duration(const toml::table& t, std::string_view path, std::string_view k,
                                 Millis min, Millis& out) const {
    const toml::node* n = t.get(k);
    if (!n) return nullptr;
    if (!n->is_string()) wrong_type(*n, text::join(path, k), "a duration string like \"5s\"");
    auto d = parse_duration(n->as_string()->get());
    if (!d) {
      fail(*n, text::join(path, k),
           "not a duration: expected a whole number with a unit ms, s, m or h, like \"5s\"");
    }
    if (*d < min) {
      fail(*n, text::join(path, k), "must be at least " + format_duration(min));
    }
    out = *d;
    return n;
  }

  // An interval where 0 turns the feature off; otherwise at least kMinInterval.
  void get_interval(const toml::table& t, std::string_view path, std::string_view k,
                    Millis& out) const {
    const toml::node* n = get_duration(t, path, k, Millis(0), out);
    if (n && out.count() != 0 && out < kMinInterval) {
      fail(*n, text::join(path, k), "must be 0 (off) or at least " + format_duration(kMinInterval));
    }
  }

  const toml::table* get_table(const toml::table& t, std::string_view path,
                               std::string_view k) const {
    const toml::node* n = t.get(k);
    if (!n) return nullptr;
    if (!n->is_table()) wrong_type(*n, text::join(path, k), "a table ([" + std::string(k) + "])");
    return n->as_table();
  }

  // Every element must be a string; returns the array (nullptr when absent).
  const toml::array* get_string_array(const toml::table& t, std::string_view path,
                                      std::string_view k, size_t max_size) const {
    const toml::node* n = t.get(k);
    if (!n) return nullptr;
    std::string key = text::join(path, k);
    if (!n->is_array()) wrong_type(*n, key, "an array of strings");
    const toml::array& a = *n->as_array();
    if (a.size() > max_size) fail(*n, key, "at most " + std::to_string(max_size) + " entries");
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string()) wrong_type(a[i], text::index(key, i), "a string");
    }
    return &a;
  }

  // An address to bind: numeric only, a listening socket cannot use a name.
  net::HostPort get_bind_address(const toml::node& n, const std::string& key) const {
    if (!n.is_string()) wrong_type(n, key, "a string like \"[::]:443\"");
    std::string_view s = n.as_string()->get();
    auto hp = net::HostPort::parse(s);
    if (!hp) {
      fail(n, key, "not an address: expected \"IP:PORT\" or \"[IPv6]:PORT\", port 1 to 65535");
    }
    if (!net::SocketAddress::from_host_port(*hp)) {
      fail(n, key,
           "must be a numeric IP address and port to listen on, like \"[::]:443\" or "
           "\"0.0.0.0:443\" (not a host name)");
    }
    return *hp;
  }

  void parse_stats(const toml::table& t, StatsConfig& out) {
    only_keys(t, "stats", {"enabled", "listen"});
    get_bool(t, "stats", "enabled", out.enabled);
    if (const toml::node* n = t.get("listen")) {
      out.listen = get_bind_address(*n, "stats.listen");
      places_.stats_listen = place_of(n->source());
    }
  }

  void parse_limits(const toml::table& t, LimitsConfig& out) const {
    const std::string_view p = "limits";
    only_keys(t, p,
              {"connect_timeout", "idle_timeout", "handshake_timeout", "fin_timeout",
               "per_ip_connections", "per_ip_new_per_second"});
    get_duration(t, p, "connect_timeout", Millis(1), out.connect_timeout);
    get_duration(t, p, "idle_timeout", Millis(1), out.idle_timeout);
    get_duration(t, p, "handshake_timeout", Millis(1), out.handshake_timeout);
    get_duration(t, p, "fin_timeout", Millis(1), out.fin_timeout);
    get_count(t, p, "per_ip_connections", 0, kMaxCount, out.per_ip_connections);
    get_count(t, p, "per_ip_new_per_second", 0, kMaxCount, out.per_ip_new_per_second);
  }

  void parse_tls(const toml::table& t, TlsConfig& out) {
    only_keys(t, "tls", {"cert", "key", "key_type", "san_dns", "san_ip"});
    const toml::node* cert = get_path(t, "cert", out.cert);
    const toml::node* key = get_path(t, "key", out.key);
    if (cert && !key) fail(*cert, "tls.cert", "cert without key: set both, or neither");
    if (key && !cert) fail(*key, "tls.key", "key without cert: set both, or neither");
    if (auto n = get_string(t, "tls", "key_type", scratch_)) {
      auto v = values::parse_key_type(scratch_);
      if (!v) fail(*n, "tls.key_type", "must be one of " + std::string(values::kKeyTypeNames));
      out.key_type = *v;
    }
    if (auto* a = get_string_array(t, "tls", "san_dns", kMaxSanEntries)) {
      for (size_t i = 0; i < a->size(); ++i) {
        std::string s((*a)[i].as_string()->get());
        if (!net::is_dns_name(s, true)) {
          fail((*a)[i], text::index("tls.san_dns", i), "not a DNS name");
        }
        out.san_dns.push_back(std::move(s));
      }
    }
    if (auto* a = get_string_array(t, "tls", "san_ip", kMaxSanEntries)) {
      for (size_t i = 0; i < a->size(); ++i) {
        std::string s((*a)[i].as_string()->get());
        if (!net::is_ip_literal(s)) {
          fail((*a)[i], text::index("tls.san_ip", i), "not an IPv4 or IPv6 address");
        }
        out.san_ip.push_back(std::move(s));
      }
    }
  }

  // A file path: non-empty, no control characters.
  const toml::node* get_path(const toml::table& t, std::string_view k, std::string& out) {
    const toml::node* n = get_string(t, "tls", k, out);
    if (n && (out.empty() || !values::has_no_control_chars(out))) {
      fail(*n, text::join("tls", k), "must be a file path (not empty, no control characters)");
    }
    return n;
  }

  void parse_upstreams(const toml::table& t, std::map<std::string, UpstreamConfig>& out) const {
    // In file order, so the first problem reported is the first one written.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [k, v] : t) entries.emplace_back(&k, &v);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return before(place_of(a.second->source()), place_of(b.second->source()));
    });
    for (auto [k, v] : entries) {
      std::string path = text::join("upstream", k->str());
      if (!values::is_upstream_name(k->str())) {
        fail(place_of(k->source()), path,
             "upstream names are 1 to 64 letters, digits, '_' and '-'");
      }
      if (!v->is_table()) wrong_type(*v, path, "a table ([" + path + "])");
      UpstreamConfig u = parse_upstream(*v->as_table(), path);
      u.name = std::string(k->str());
      out.emplace(u.name, std::move(u));
    }
  }

  UpstreamConfig parse_upstream(const toml::table& t, const std::string& path) const {
    UpstreamConfig u;
    only_keys(t, path, {"servers", "send_proxy", "health_check_interval", "resolve_interval"});
    const toml::array* servers = get_string_array(t, path, "servers", kMaxServers);
    if (!servers) {
      fail(t, text::join(path, "servers"), "an upstream needs servers = [\"HOST:PORT\", ...]");
    }
    if (servers->empty()) fail(*servers, text::join(path, "servers"), "no servers");
    for (size_t i = 0; i < servers->size(); ++i) {
      const toml::node& n = (*servers)[i];
      std::string key = text::index(text::join(path, "servers"), i);
      auto hp = net::HostPort::parse(n.as_string()->get());
      if (!hp || !(net::is_ip_literal(hp->host) || net::is_dns_name(hp->host))) {
        fail(n, key,
             "not a server address: expected \"HOST:PORT\" or \"[IPv6]:PORT\", port 1 to 65535");
      }
      if (auto sa = net::SocketAddress::from_host_port(*hp); sa && sa->unspecified()) {
        fail(n, key, "the unspecified address cannot be dialled");
      }
      if (std::find(u.servers.begin(), u.servers.end(), *hp) != u.servers.end()) {
        fail(n, key, "server listed twice");
      }
      u.servers.push_back(std::move(*hp));
    }
    if (auto n = get_string(t, path, "send_proxy", scratch_)) {
      auto v = values::parse_proxy_header(scratch_);
      if (!v) {
        fail(*n, text::join(path, "send_proxy"),
             "must be one of " + std::string(values::kProxyHeaderNames));
      }
      u.send_proxy = *v;
    }
    get_interval(t, path, "health_check_interval", u.health_check_interval);
    get_interval(t, path, "resolve_interval", u.resolve_interval);
    return u;
  }

  void parse_listeners(const toml::node& n, std::vector<ListenerConfig>& out) {
    if (!n.is_array()) wrong_type(n, "listener", "an array of tables ([[listener]])");
    const toml::array& a = *n.as_array();
    if (a.size() > kMaxListeners) {
      fail(n, "listener", "at most " + std::to_string(kMaxListeners) + " listeners");
    }
    for (size_t i = 0; i < a.size(); ++i) {
      std::string path = text::index("listener", i);
      if (!a[i].is_table()) wrong_type(a[i], path, "a table ([[listener]])");
      out.push_back(parse_listener(*a[i].as_table(), path));
    }
  }

  ListenerConfig parse_listener(const toml::table& t, const std::string& path) {
    ListenerConfig l;
    checks::ListenerPlaces where;
    where.table = place_of(t.source());
    l.line = where.table.line;
    only_keys(t, path, {"name", "listen", "tls", "accept_proxy", "upstream", "max_connections"});
    const toml::node* listen = t.get("listen");
    if (!listen) fail(t, text::join(path, "listen"), "a listener needs listen = \"IP:PORT\"");
    l.listen = get_bind_address(*listen, text::join(path, "listen"));
    where.listen = place_of(listen->source());
    // The default name is the address as written: it is what the operator
    // will look for in the metrics.
    if (const toml::node* name = get_string(t, path, "name", l.name)) {
      where.name = place_of(name->source());
    } else {
      l.name = std::string(listen->as_string()->get());
      where.name = where.listen;
    }
    if (!values::is_listener_name(l.name)) {
      fail(where.name, text::join(path, "name"),
           "listener names are 1 to 128 of letters, digits and _ - . : [ ]");
    }
    get_bool(t, path, "tls", l.tls);
    get_bool(t, path, "accept_proxy", l.accept_proxy);
    const toml::node* upstream = get_string(t, path, "upstream", l.upstream);
    if (!upstream) fail(t, text::join(path, "upstream"), "a listener needs upstream = \"NAME\"");
    where.upstream = place_of(upstream->source());
    get_count(t, path, "max_connections", 0, kMaxCount, l.max_connections);
    places_.listeners.push_back(where);
    return l;
  }

  std::string file_;
  checks::ConfigPlaces places_;
  mutable std::string scratch_;  // enum spellings on their way to their enum
};

}  // namespace

ConfigResult parse_config(std::string_view text, const std::string& source) {
  if (text.size() > kMaxConfigBytes) {
    return ConfigError{source, 0, 0, "", "larger than 1 MiB: not a config file"};
  }
  if (auto p = text::find_non_ascii_toml_cannot_take(text)) {
    return ConfigError{source, p->line, p->column, "", std::string(p->why)};
  }
  try {
    toml::table root = toml::parse(text, std::string_view(source));
    return Parser(source).parse(root);
  } catch (const toml::parse_error& e) {
    return ConfigError{source, static_cast<int>(e.source().begin.line),
                       static_cast<int>(e.source().begin.column), "", printable(e.description())};
  } catch (Stop& stop) {
    return std::move(stop.error);
  }
}

}  // namespace ferry::proxy
