// ferry-echo: the upstream of the relay benchmark. Echoes every byte back on
// every connection; --threads loops with SO_REUSEPORT listeners. Stops on
// SIGINT/SIGTERM (or after --max-seconds, so a forgotten one cannot linger).
//
//   ferry-echo --listen 127.0.0.1:9000 --threads 1
#include <poll.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "common/log.h"
#include "echo_worker.h"
#include "support/stop_signal.h"

int main(int argc, char** argv) {
  CLI::App app{"ferry-echo: echo server for the relay benchmark"};
  std::string listen;
  int threads = 1;
  double max_seconds = 3600;
  app.add_option("--listen", listen, "HOST:PORT (numeric)")->required();
  app.add_option("--threads", threads)->check(CLI::Range(1, 64));
  app.add_option("--max-seconds", max_seconds, "exit after this long")
      ->check(CLI::Range(1.0, 86400.0));
  CLI11_PARSE(app, argc, argv);

  std::string error;
  auto endpoint = ferry::bench::parse_endpoint(listen, error);
  if (!endpoint) {
    ferry::log::error("bad_listen", {{"listen", listen}, {"error", error}});
    return 2;
  }

  ferry::bench::StopSignal stop_signal;  // before threads: they inherit the blocked mask
  std::vector<std::unique_ptr<ferry::bench::EchoWorker>> workers;
  for (int i = 0; i < threads; ++i) {
    auto worker = std::make_unique<ferry::bench::EchoWorker>(*endpoint);
    if (!worker->ok()) {
      ferry::log::error("echo_start_failed", {{"error", worker->error()}});
      return 1;
    }
    workers.push_back(std::move(worker));
  }

  std::atomic<bool> stop{false};
  std::vector<std::thread> running;
  for (auto& w : workers) running.emplace_back([&w, &stop] { w->run(stop); });
  ferry::log::info("echo_listening", {{"listen", listen}, {"threads", threads}});

  pollfd p{stop_signal.fd(), POLLIN, 0};
  int wait_ms = static_cast<int>(max_seconds * 1000);
  int rc = ::poll(&p, 1, wait_ms);
  stop = true;
  for (auto& t : running) t.join();
  uint64_t accepted = 0;
  for (auto& w : workers) accepted += w->accepted();
  ferry::log::info("echo_stopped", {{"accepted", accepted}, {"timed_out", rc == 0}});
  return 0;
}
