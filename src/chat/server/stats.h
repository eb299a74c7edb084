// The server's counters. Written on the loop thread only (plain integers);
// logged as one `stats` line on SIGUSR1 and at exit.
#pragma once

#include <cstdint>
#include <string>

namespace ferry::chat::server {

// Why a connection ended. Every peer-caused reason has its own counter.
enum class CloseReason : uint8_t {
  client_closed,      // orderly EOF between frames
  bad_proxy_header,   // malformed PROXY header on a proxy listener
  bad_frame,          // zero or oversized length
  truncated,          // EOF in the middle of a frame
  handshake_failed,   // not a Noise Pipes handshake we accept
  decrypt_failed,     // a transport message that does not authenticate (replay, garbage)
  malformed_request,  // decrypted, but not a Request
  flood,              // more frames than the rate allows
  slow_reader,        // output piled up beyond the limit
  handshake_timeout,
  idle_timeout,
  frame_timeout,
  refused,   // per-IP limits (known only after the PROXY header)
  replaced,  // the same account logged in again
  io_error,
  shutdown,
  kCount
};

const char* close_reason_name(CloseReason r);

struct Stats {
  uint64_t accepted = 0;
  uint64_t accepted_direct = 0;     // on --listen
  uint64_t accepted_via_proxy = 0;  // on --proxy-listen, with a valid PROXY header
  uint64_t active = 0;
  uint64_t refused_max_connections = 0;
  uint64_t refused_per_ip = 0;
  uint64_t refused_per_ip_rate = 0;
  uint64_t closed[static_cast<int>(CloseReason::kCount)] = {};
  uint64_t handshakes_ik = 0;
  uint64_t handshakes_xx = 0;
  uint64_t handshakes_fallback = 0;
  uint64_t requests = 0;
  uint64_t bad_requests = 0;
  uint64_t registrations = 0;
  uint64_t refused_registrations = 0;
  uint64_t bundles_served = 0;
  uint64_t refused_bundles = 0;  // over --bundles-per-hour
  uint64_t envelopes_stored = 0;
  uint64_t envelopes_duplicate = 0;
  uint64_t envelopes_pushed = 0;
  uint64_t envelopes_acked = 0;
  uint64_t store_failures = 0;

  uint64_t& closed_by(CloseReason r) { return closed[static_cast<int>(r)]; }
  // "accepted=3 active=1 ... closed_flood=1 ..." (logfmt pairs).
  std::string to_logfmt() const;
};

}  // namespace ferry::chat::server
