// ferry-bare-relay: the floor row of bench/relay.sh, the least a user-space
// TCP relay can do on this machine (see bare_relay_worker.h). Each --route
// LISTEN=UPSTREAM relays every connection to LISTEN to a new connection to
// UPSTREAM; --threads loops with SO_REUSEPORT listeners. Stops on
// SIGINT/SIGTERM (or after --max-seconds, so a forgotten one cannot linger).
//
//   ferry-bare-relay --route 127.0.0.1:9001=127.0.0.1:9000 --threads 2
#include <poll.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "bare_relay_worker.h"
#include "common/log.h"
#include "support/stop_signal.h"

int main(int argc, char** argv) {
  CLI::App app{"ferry-bare-relay: minimal epoll relay, the floor of the relay benchmark"};
  std::vector<std::string> route_texts;
  int threads = 2;
  double max_seconds = 3600;
  app.add_option("--route", route_texts, "LISTEN=UPSTREAM, numeric HOST:PORT each")->required();
  app.add_option("--threads", threads)->check(CLI::Range(1, 64));
  app.add_option("--max-seconds", max_seconds, "exit after this long")
      ->check(CLI::Range(1.0, 86400.0));
  CLI11_PARSE(app, argc, argv);

  std::vector<ferry::bench::BareRoute> routes;
  for (const std::string& text : route_texts) {
    size_t eq = text.find('=');
    std::string error;
    auto listen = ferry::bench::parse_endpoint(text.substr(0, eq), error);
    auto upstream = eq == std::string::npos
                        ? std::nullopt
                        : ferry::bench::parse_endpoint(text.substr(eq + 1), error);
    if (!listen || !upstream) {
      if (error.empty()) error = "expected LISTEN=UPSTREAM";
      ferry::log::error("bad_route", {{"route", text}, {"error", error}});
      return 2;
    }
    routes.push_back({*listen, *upstream});
  }

  ferry::bench::StopSignal stop_signal;  // before threads: they inherit the blocked mask
  std::vector<std::unique_ptr<ferry::bench::BareRelayWorker>> workers;
  for (int i = 0; i < threads; ++i) {
    auto worker = std::make_unique<ferry::bench::BareRelayWorker>(routes);
    if (!worker->ok()) {
      ferry::log::error("bare_relay_start_failed", {{"error", worker->error()}});
      return 1;
    }
    workers.push_back(std::move(worker));
  }

  std::atomic<bool> stop{false};
  std::vector<std::thread> running;
  for (auto& w : workers) running.emplace_back([&w, &stop] { w->run(stop); });
  ferry::log::info("bare_relay_listening", {{"routes", route_texts.size()}, {"threads", threads}});

  pollfd p{stop_signal.fd(), POLLIN, 0};
  int rc = ::poll(&p, 1, static_cast<int>(max_seconds * 1000));
  stop = true;
  for (auto& t : running) t.join();
  ferry::log::info("bare_relay_stopped", {{"timed_out", rc == 0}});
  return 0;
}
