// The proxy's configuration: what the TOML file says, validated and typed.
// The nouns mirror the file: [[listener]] -> route -> [upstream.NAME], plus
// [limits], [tls], [stats]. Every field has the default documented in
// docs/proxy.md; a Config that load_config() returns is valid and complete.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/duration.h"
#include "net/address.h"

namespace ferry::proxy {

enum class ProxyHeader : uint8_t { none, v1, v2 };
enum class KeyType : uint8_t { ecdsa_p256, rsa_2048, rsa_4096 };
enum class ShareLink : uint8_t { none, whatsapp, ferry };
// automatic: one worker per CPU, pinned, when there are as many workers as CPUs.
enum class CpuAffinity : uint8_t { none, automatic };
// automatic: io_uring for plain connections where the kernel allows it, else epoll.
enum class IoUring : uint8_t { automatic, off };

struct StatsConfig {
  bool enabled = true;
  net::HostPort listen{"127.0.0.1", 8199};
  bool operator==(const StatsConfig&) const = default;
};

struct LimitsConfig {
  Millis connect_timeout{5'000};
  Millis idle_timeout{200'000};
  Millis handshake_timeout{10'000};  // PROXY header + TLS handshake
  Millis fin_timeout{1'000};         // after one side closed its half
  uint32_t per_ip_connections = 0;   // 0 = unlimited
  uint32_t per_ip_new_per_second = 0;
  bool operator==(const LimitsConfig&) const = default;
};

struct TlsConfig {
  std::string cert;  // both empty: self-signed, generated at start, in memory
  std::string key;
  KeyType key_type = KeyType::ecdsa_p256;  // for the generated certificate
  std::vector<std::string> san_dns;
  std::vector<std::string> san_ip;
  bool operator==(const TlsConfig&) const = default;
};

struct ListenerConfig {
  std::string name;  // metrics label; defaults to the listen text
  net::HostPort listen;
  bool tls = false;
  bool accept_proxy = false;
  std::string upstream;
  uint32_t max_connections = 0;  // 0 = only the global cap
  int line = 0;                  // where it was defined, for messages

  // Same settings; `line` is bookkeeping and not compared.
  bool operator==(const ListenerConfig& o) const {
    return name == o.name && listen == o.listen && tls == o.tls && accept_proxy == o.accept_proxy &&
           upstream == o.upstream && max_connections == o.max_connections;
  }
};

struct UpstreamConfig {
  std::string name;
  std::vector<net::HostPort> servers;  // the allow-list: nothing else is ever dialled
  ProxyHeader send_proxy = ProxyHeader::none;
  Millis health_check_interval{60'000};  // 0 = no health checks
  Millis resolve_interval{60'000};       // DNS refresh for hostnames; 0 = resolve once
  bool operator==(const UpstreamConfig&) const = default;
};

struct Config {
  std::string source;  // file path or "profile:NAME", for messages
  uint32_t max_connections = 27'500;
  std::string public_host;  // only for the share link
  ShareLink share_link = ShareLink::none;
  Millis drain_timeout{30'000};
  bool log_client_addresses = false;
  std::string log_level = "info";
  uint32_t workers = 0;                          // event loops; 0 = one per usable CPU
  CpuAffinity cpu_affinity = CpuAffinity::none;  // opt-in: see docs/proxy.md
  IoUring io_uring = IoUring::automatic;
  std::string user;  // drop privileges to this user after binding
  StatsConfig stats;
  LimitsConfig limits;
  TlsConfig tls;
  std::vector<ListenerConfig> listeners;
  // A listener terminates TLS: the [tls] identity is needed.
  bool any_tls() const {
    for (const auto& l : listeners) {
      if (l.tls) return true;
    }
    return false;
  }
  std::map<std::string, UpstreamConfig> upstreams;

  // Same settings; `source` (where it came from) is not compared, so a
  // rendered and re-parsed config equals the original.
  bool operator==(const Config& o) const {
    return max_connections == o.max_connections && public_host == o.public_host &&
           share_link == o.share_link && drain_timeout == o.drain_timeout &&
           log_client_addresses == o.log_client_addresses && log_level == o.log_level &&
           workers == o.workers && cpu_affinity == o.cpu_affinity && io_uring == o.io_uring &&
           user == o.user && stats == o.stats && limits == o.limits && tls == o.tls &&
           listeners == o.listeners && upstreams == o.upstreams;
  }
};

struct ConfigError {
  std::string file;
  int line = 0;  // 0 when the error is not about one place
  int column = 0;
  std::string key;  // dotted path, e.g. "listener[2].upstream", "upstream.chat.servers[0]"
  std::string message;
  // "FILE:LINE:COLUMN: KEY: MESSAGE"; without a place "FILE: KEY: MESSAGE",
  // without a key "FILE:LINE:COLUMN: MESSAGE".
  std::string to_string() const;
};

using ConfigResult = std::variant<Config, ConfigError>;

// A config file is small; anything larger is refused unread.
inline constexpr size_t kMaxConfigBytes = 1 << 20;

// Parses and validates. `source` names the text in errors (a path, or
// "profile:whatsapp"). Unknown keys, wrong types, unknown upstreams, duplicate
// listen addresses, bad durations or addresses: a ConfigError, never a guess.
ConfigResult parse_config(std::string_view text, const std::string& source);
ConfigResult load_config_file(const std::string& path);

// Renders a Config as TOML that parse_config() reads back to an equal Config.
std::string render_config(const Config& config);

// Checks a Config changed in code (command-line overrides such as
// --public-host, --user, --upstream) by the same rules as a file. The error
// names the key (e.g. "upstream.ferry.servers[0]") but no line: there is none.
std::optional<ConfigError> validate_config(const Config& config);

}  // namespace ferry::proxy
