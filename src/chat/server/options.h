// Everything ferry-server can be told, with its default. The command line
// (apps/ferry-server.cpp) fills this; docs/protocol.md (Part 1) explains why
// each limit exists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "chat/server/store.h"
#include "common/duration.h"
#include "net/address.h"

namespace ferry::chat::server {

struct ServerOptions {
  std::vector<net::HostPort> listen;        // clients connect here directly
  std::vector<net::HostPort> proxy_listen;  // a PROXY v1/v2 header comes first
  std::string data_dir;
  std::string public_host;  // host in the printed link; default: the first listen host

  uint32_t max_connections = 20'000;
  uint32_t per_ip_connections = 256;       // 0 = unlimited
  uint32_t per_ip_new_per_second = 50;     // 0 = unlimited; bursts of twice that
  uint32_t registrations_per_hour = 20;    // per client IP, 0 = unlimited; bursts of that many
  uint32_t one_time_prekeys_per_hour = 1;  // per fetcher and target, 0 = unlimited
  uint32_t bundles_per_hour = 100;  // FetchBundle per account, 0 = unlimited; bursts of that many
  size_t max_frame = 65'535;
  double request_rate = 5'000;          // frames per second per connection...
  double request_burst = 10'000;        // ...with this burst; beyond it: closed as a flood
  uint32_t max_pending_ops = 512;       // per connection; reading pauses at this many
  size_t max_pending_bytes = 1u << 20;  // ...or at this many bytes of requests in them
  size_t max_output = 8u << 20;         // unsent bytes per connection before it is dropped
  uint32_t delivery_window = 1024;      // envelopes pushed and not yet acknowledged
  uint32_t page_size = 256;             // envelopes read from the store at a time
  uint32_t prekeys_low = 20;            // below this many one-time prekeys: PrekeysLow
  Millis handshake_timeout{10'000};     // PROXY header + Noise handshake
  Millis idle_timeout{300'000};
  Millis frame_timeout{30'000};  // a frame begun must be complete within this
  Millis drain_timeout{10'000};  // on SIGTERM: time to finish stored work

  std::string synchronous = "FULL";  // SQLite: FULL survives power loss, NORMAL a crash
  size_t max_batch = 4096;           // requests per transaction (group commit)
  unsigned commit_delay_us = 1000;   // under load, a batch waits this long to fill (0: never)
  StoreLimits store;
};

}  // namespace ferry::chat::server
