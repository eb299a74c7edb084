// Command-line options shared by the load generator's subcommands.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "support/endpoint.h"

namespace ferry::bench {

struct Options {
  Endpoint target;
  int connections = 100;   // pingpong, hold
  int size = 512;          // pingpong message size
  double duration_s = 10;  // measured time (hold: how long to hold)
  double warmup_s = 1;     // before the measured window
  int concurrency = 32;    // connect, tls-handshake: operations in flight
  int parallel = 256;      // connects in flight while opening connections
  double setup_timeout_s = 60;
  double op_timeout_s = 5;           // one connection's exchange, one handshake
  std::vector<pid_t> watch_pids;     // relay processes whose CPU is reported
  std::vector<pid_t> upstream_pids;  // upstream (echo) processes, the same
  bool connect_only = false;         // wait: a TCP connect is enough
};

// Byte `i` of the data every connection sends, so an echo can be checked
// without a per-connection copy of what was sent.
const unsigned char* pattern();
inline constexpr int kPatternSize = 1 << 20;  // also the largest --size

}  // namespace ferry::bench
