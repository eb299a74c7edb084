// ferry-server: the Ferry messenger's server. Thin main: options in, Server out.
//
//   ferry-server --listen 0.0.0.0:5222 --proxy-listen 127.0.0.1:5223 --data /var/lib/ferry
//
// Prints its link (ferry://server?host=...&port=...&key=...) on stdout and
// writes it to DATA/server.link. Everything else: docs/protocol.md (Part 1).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "chat/server/server.h"
#include "common/log.h"
#include "common/main_guard.h"
#include "net/host_names.h"

namespace {

using ferry::Millis;
using ferry::net::HostPort;

// CLI11 validator-ish converters that say what is wrong.
std::string parse_addresses(const std::vector<std::string>& in, std::vector<HostPort>& out) {
  for (const auto& text : in) {
    auto hp = HostPort::parse(text);
    if (!hp) return "not HOST:PORT: " + text;
    out.push_back(*hp);
  }
  return {};
}

std::string parse_duration_opt(const std::string& text, Millis& out, const char* name) {
  if (text.empty()) return {};
  auto d = ferry::parse_duration(text);
  if (!d) return std::string("--") + name + ": not a duration (like 10s, 500ms): " + text;
  out = *d;
  return {};
}

}  // namespace

static int run(int argc, char** argv) {
  ferry::chat::server::ServerOptions o;
  std::vector<std::string> listen, proxy_listen;
  std::string handshake_timeout, idle_timeout, frame_timeout, drain_timeout, log_level = "info";
  bool log_addresses = false;

  CLI::App app{"ferry-server: the Ferry messenger's server"};
  app.add_option("--listen", listen, "HOST:PORT for clients (repeatable)");
  app.add_option("--proxy-listen", proxy_listen,
                 "HOST:PORT for ferry-proxy: every connection starts with a PROXY v1/v2 header "
                 "(repeatable; keep it reachable by your proxies only)");
  app.add_option("--data", o.data_dir, "data directory (key, link, database)")->required();
  app.add_option("--public-host", o.public_host, "host name or address to put in the link");
  app.add_option("--max-connections", o.max_connections, "global cap")->capture_default_str();
  app.add_option("--per-ip-connections", o.per_ip_connections,
                 "per client (an IPv4 address or an IPv6 /64), 0 = unlimited")
      ->capture_default_str();
  app.add_option("--per-ip-new-per-second", o.per_ip_new_per_second,
                 "new connections per second per client (bursts of twice), 0 = unlimited")
      ->capture_default_str();
  app.add_option("--registrations-per-hour", o.registrations_per_hour,
                 "new accounts per hour per client (bursts of that many), 0 = unlimited")
      ->capture_default_str();
  app.add_option("--one-time-prekeys-per-hour", o.one_time_prekeys_per_hour,
                 "one-time prekeys of one user handed to one account per hour (later bundles come "
                 "without), 0 = unlimited")
      ->capture_default_str();
  app.add_option("--bundles-per-hour", o.bundles_per_hour,
                 "prekey bundles fetched per hour per account (bursts of that many), 0 = unlimited")
      ->capture_default_str();
  // At least 1024: every handshake message fits (the largest is 98 bytes).
  app.add_option("--max-frame", o.max_frame, "largest frame accepted, bytes (1024 to 65535)")
      ->check(CLI::Range(1024, 65535))
      ->capture_default_str();
  app.add_option("--request-rate", o.request_rate, "frames per second per connection")
      ->capture_default_str();
  app.add_option("--request-burst", o.request_burst, "burst above the rate before closing")
      ->capture_default_str();
  app.add_option("--max-queue", o.store.max_queue, "envelopes waiting per recipient")
      ->capture_default_str();
  app.add_option("--max-queue-bytes", o.store.max_queue_bytes,
                 "bytes of envelopes waiting per recipient")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-sender-bytes", o.store.max_sender_bytes,
                 "bytes one account may have sent and not yet acknowledged by their recipients")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--min-free-disk", o.store.min_free_disk,
                 "bytes that must stay free in the data directory; Sends are refused below, 0 = "
                 "no check")
      ->capture_default_str();
  // At most 1024: 1024 envelopes of at most 60000 bytes are about 60 MiB,
  // well below the 128 MiB of unhandled responses (answers and pushes) the
  // reference client buffers before it drops the server as broken.
  app.add_option("--delivery-window", o.delivery_window,
                 "unacknowledged envelopes per client (1 to 1024)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--handshake-timeout", handshake_timeout, "default 10s");
  app.add_option("--idle-timeout", idle_timeout, "default 300s");
  app.add_option("--frame-timeout", frame_timeout, "default 30s");
  app.add_option("--drain-timeout", drain_timeout, "default 10s");
  app.add_option("--synchronous", o.synchronous, "SQLite synchronous: FULL or NORMAL")
      ->check(CLI::IsMember({"FULL", "NORMAL"}))
      ->capture_default_str();
  app.add_option("--max-batch", o.max_batch, "requests per transaction")->capture_default_str();
  app.add_option("--commit-delay-us", o.commit_delay_us,
                 "under load, microseconds a transaction may wait to gather more requests "
                 "(0: never)")
      ->check(CLI::Range(0u, 100000u))
      ->capture_default_str();
  app.add_option("--log-level", log_level, "debug, info, warn, error")->capture_default_str();
  app.add_flag("--log-client-addresses", log_addresses, "put client addresses in logs");
  CLI11_PARSE(app, argc, argv);

  ferry::log::Level level;
  if (!ferry::log::parse_level(log_level, level)) {
    std::cerr << "ferry-server: --log-level: unknown level " << log_level << "\n";
    return 2;
  }
  ferry::log::set_level(level);
  ferry::log::set_log_client_addresses(log_addresses);
  for (const auto& err :
       {parse_addresses(listen, o.listen), parse_addresses(proxy_listen, o.proxy_listen),
        parse_duration_opt(handshake_timeout, o.handshake_timeout, "handshake-timeout"),
        parse_duration_opt(idle_timeout, o.idle_timeout, "idle-timeout"),
        parse_duration_opt(frame_timeout, o.frame_timeout, "frame-timeout"),
        parse_duration_opt(drain_timeout, o.drain_timeout, "drain-timeout")}) {
    if (!err.empty()) {
      std::cerr << "ferry-server: " << err << "\n";
      return 2;
    }
  }

  if (!o.public_host.empty() && !ferry::net::is_dns_name(o.public_host) &&
      !ferry::net::is_ip_literal(o.public_host)) {
    // The same rule as ferry-proxy's public_host: the link must carry it as it is.
    std::cerr << "ferry-server: --public-host: must be a host name or an IP address, without "
                 "port or brackets: "
              << o.public_host << "\n";
    return 2;
  }

  // Before any thread starts, so the store thread inherits the mask and only
  // the signalfd sees these signals.
  ferry::chat::server::Server::block_signals();
  ferry::chat::server::Server server(std::move(o));
  std::string error;
  if (!server.start(error) || !server.watch_signals(error)) {
    std::cerr << "ferry-server: " << error << "\n";
    return 1;
  }
  if (server.key_created()) ferry::log::info("chat_server_key_created");
  std::cout << server.link() << std::endl;
  ferry::log::info("chat_server_ready", {{"link", server.link()}});
  server.run();
  return 0;
}

int main(int argc, char** argv) {
  return ferry::run_guarded("ferry-server", run, argc, argv);
}
