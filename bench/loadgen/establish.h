// Opens many connections at a bounded rate, optionally proving each one with
// a small echo (so a relay has really connected upstream). Used by pingpong
// (which then drives them) and hold (which keeps them idle).
#pragma once

#include <cstdint>
#include <vector>

#include "error_counter.h"
#include "net/fd.h"
#include "options.h"
#include "support/stop_signal.h"

namespace ferry::bench {

struct EstablishRequest {
  const Endpoint* target = nullptr;
  int count = 0;
  int parallel = 256;
  int echo_bytes = 0;  // 0: a completed TCP connect is enough
  uint64_t deadline_ns = 0;
  uint64_t op_timeout_ns = 5'000'000'000ULL;
  const StopSignal* stop = nullptr;  // optional
};

// Returns the established connections (fewer than asked on deadline, stop
// or too many failures; every failure is in `errors`).
std::vector<net::Fd> establish(const EstablishRequest& req, ErrorCounter& errors);

}  // namespace ferry::bench
