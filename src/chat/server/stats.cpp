#include "chat/server/stats.h"

#include <fmt/format.h>

namespace ferry::chat::server {

const char* close_reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::client_closed:
      return "client_closed";
    case CloseReason::bad_proxy_header:
      return "bad_proxy_header";
    case CloseReason::bad_frame:
      return "bad_frame";
    case CloseReason::truncated:
      return "truncated";
    case CloseReason::handshake_failed:
      return "handshake_failed";
    case CloseReason::decrypt_failed:
      return "decrypt_failed";
    case CloseReason::malformed_request:
      return "malformed_request";
    case CloseReason::flood:
      return "flood";
    case CloseReason::slow_reader:
      return "slow_reader";
    case CloseReason::handshake_timeout:
      return "handshake_timeout";
    case CloseReason::idle_timeout:
      return "idle_timeout";
    case CloseReason::frame_timeout:
      return "frame_timeout";
    case CloseReason::refused:
      return "refused";
    case CloseReason::replaced:
      return "replaced";
    case CloseReason::io_error:
      return "io_error";
    case CloseReason::shutdown:
      return "shutdown";
    case CloseReason::kCount:
      break;
  }
  return "unknown";
}

std::string Stats::to_logfmt() const {
  std::string out = fmt::format(
      "accepted={} accepted_direct={} accepted_via_proxy={} active={} refused_max_connections={} "
      "refused_per_ip={} "
      "refused_per_ip_rate={} handshakes_ik={} handshakes_xx={} handshakes_fallback={} "
      "requests={} bad_requests={} registrations={} refused_registrations={} bundles_served={} "
      "refused_bundles={} "
      "envelopes_stored={} envelopes_duplicate={} envelopes_pushed={} envelopes_acked={} "
      "store_failures={}",
      accepted, accepted_direct, accepted_via_proxy, active, refused_max_connections,
      refused_per_ip, refused_per_ip_rate, handshakes_ik, handshakes_xx, handshakes_fallback,
      requests, bad_requests, registrations, refused_registrations, bundles_served, refused_bundles,
      envelopes_stored, envelopes_duplicate, envelopes_pushed, envelopes_acked, store_failures);
  for (int i = 0; i < static_cast<int>(CloseReason::kCount); ++i)
    out += fmt::format(" closed_{}={}", close_reason_name(static_cast<CloseReason>(i)), closed[i]);
  return out;
}

}  // namespace ferry::chat::server
