// The checks that span sections of a config (a listener's upstream must
// exist, listen addresses must not overlap, names must be unique), run after
// every section parsed on its own. Places come from the parser so the error
// still points at the line that caused it.
#pragma once

#include <optional>
#include <vector>

#include "proxy/config.h"

namespace ferry::proxy::checks {

struct Place {
  int line = 0;  // 0: not written in the file (a default)
  int column = 0;
};

struct ListenerPlaces {
  Place table;  // the [[listener]] header
  Place name;   // the name value, or the listen value when the name is the default
  Place listen;
  Place upstream;
};

struct ConfigPlaces {
  Place stats_listen;
  std::vector<ListenerPlaces> listeners;  // parallel to Config::listeners
};

// Whether two listening sockets on these addresses would take the same
// connections: equal addresses (IPv4-mapped IPv6 counted as IPv4), or a
// wildcard covering the other. "[::]" is dual-stack, so it covers IPv4 too.
bool listen_addresses_overlap(const net::HostPort& a, const net::HostPort& b);

// The first cross-section problem in document order, or nullopt.
std::optional<ConfigError> check_cross_references(const Config& config, const ConfigPlaces& places);

}  // namespace ferry::proxy::checks
