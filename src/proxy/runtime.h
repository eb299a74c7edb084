// What the workers run: a Config turned into live objects (upstream states,
// the TLS context, metrics handles). Built by the control thread at start and
// on every reload; a connection keeps the ListenerRuntime it was accepted
// with, so a reload never changes a connection under its feet.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "net/tls.h"
#include "proxy/config.h"
#include "proxy/metrics.h"
#include "proxy/upstream.h"

namespace ferry::proxy {

struct ListenerRuntime {
  ListenerConfig config;
  LimitsConfig limits;
  bool log_client_addresses = false;
  std::shared_ptr<UpstreamState> upstream;
  std::shared_ptr<SSL_CTX> tls;  // set when config.tls
  ListenerMetrics* metrics = nullptr;
  net::SocketAddress bind_address;
};

struct Runtime {
  Config config;
  // Not const until published: take_effect() completes them.
  std::vector<std::shared_ptr<ListenerRuntime>> listeners;
  std::vector<std::shared_ptr<UpstreamState>> upstreams;
  std::shared_ptr<SSL_CTX> tls;
  // A generated certificate is kept across reloads while [tls] is unchanged,
  // so clients that pinned it (or a QR code printed at start) keep working.
  std::shared_ptr<net::tls::Identity> generated_identity;
};

// `previous` (may be null) lends upstream addresses and a generated identity.
// On failure returns null and sets `error` (e.g. a certificate that will not
// load); the caller keeps running the previous runtime.
std::shared_ptr<Runtime> build_runtime(const Config& config, Metrics& metrics,
                                       const Runtime* previous, std::string& error);

// The runtime is now in force (start, or a reload that bound its listeners),
// before any worker runs it: each listener gets its counters, registered
// under its name, and each upstream's health settings apply to the servers'
// shared state. Not done when built, since a reload can still fail after
// that, and must then leave no trace (no listener in the metrics that never
// ran, no server marked up by checks that never took over).
void take_effect(Runtime& rt, Metrics& metrics);

}  // namespace ferry::proxy
