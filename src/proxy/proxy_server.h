// The proxy as a whole: the control thread and the workers.
//
// The control thread owns the configuration. It binds every listener (one
// SO_REUSEPORT socket per worker), builds the runtime, serves stats, runs
// health checks, and handles signals: SIGHUP reloads (config, certificates)
// without touching established connections; SIGTERM/SIGINT stop accepting and
// let connections finish for up to drain_timeout.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/event_loop.h"
#include "net/http_server.h"
#include "proxy/config.h"
#include "proxy/health.h"
#include "proxy/metrics.h"
#include "proxy/resolver.h"
#include "proxy/runtime.h"
#include "proxy/worker.h"

namespace ferry::proxy {

struct ProxyOptions {
  // Produces the configuration again on SIGHUP (re-reads the file and
  // re-applies command-line overrides). Unset: SIGHUP only reloads certificates.
  std::function<ConfigResult()> reload;
};

class ProxyServer {
 public:
  ProxyServer(Config config, ProxyOptions options);
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;
  ~ProxyServer();

  // Everything that can fail at start: bind, certificates, privilege drop.
  // On failure the process must exit: nothing is half running.
  bool init(std::string& error);
  // Until drained. Returns the exit code.
  int run();

  const Runtime& runtime() const { return *runtime_; }

 private:
  class Signals;
  class Ticker;
  void reload();
  void begin_drain();
  void drain_deadline();
  bool bind_new_listeners(const Runtime& rt, std::vector<std::vector<Worker::Binding>>& per_worker,
                          std::string& error);
  void apply_settings(const Config& config);
  void sweep();

  Config initial_;
  ProxyOptions options_;
  Metrics metrics_;
  SharedState shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::shared_ptr<Runtime> runtime_;
  net::EventLoop control_;
  std::unique_ptr<net::HttpServer> stats_server_;
  std::unique_ptr<HealthChecker> health_;
  std::unique_ptr<Resolver> resolver_;
  std::unique_ptr<Signals> signals_;
  std::unique_ptr<Ticker> drain_timer_;
  std::unique_ptr<Ticker> sweep_timer_;
  std::vector<std::string> bound_;  // listen addresses that have sockets
  std::atomic<size_t> running_workers_{0};
  uint64_t started_ms_ = 0;
  bool draining_ = false;
  const char* io_engine_ = "epoll";  // what the workers use, for the log
  bool limits_multishot_ = false;    // the ring bounds each multishot receive
};

}  // namespace ferry::proxy
