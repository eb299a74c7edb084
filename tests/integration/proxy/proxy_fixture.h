// Starts ferry-proxy with a config the test writes, on loopback ports, and
// gives the test what it needs to talk to it.
//
// FERRY_TEST_IO_URING=off in the environment runs every such proxy on epoll
// alone (io_uring = "off"): CTest runs the suite once that way too, so both
// of the proxy's I/O paths are tested on a kernel that has io_uring.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "harness/harness.h"

namespace ferry::test {

class RunningProxy {
 public:
  // `config` is TOML; "{stats}" is replaced by the stats port.
  explicit RunningProxy(const std::string& config, std::map<std::string, std::string> env = {})
      : stats_port_(free_port()) {
    std::string text = with_io_engine(config);
    replace_all(text, "{stats}", std::to_string(stats_port_));
    config_path_ = dir_.write("proxy.toml", text);
    proc_ = std::make_unique<Process>(binary("ferry-proxy"),
                                      std::vector<std::string>{"--config", config_path_},
                                      dir_.path(), std::move(env));
    // Started, or gave up (a config error exits at once).
    wait_until(
        [&] {
          return !proc_->running() || proc_->err().find("event=started") != std::string::npos;
        },
        15s);
    started_ = proc_->running() && proc_->err().find("event=started") != std::string::npos;
  }

  // A proxy that died of a signal, or one in a failed test, leaves its log in
  // the test output.
  ~RunningProxy() {
    auto status = proc_->wait_exit(Duration(0));
    if (status && *status >= 128) {
      ADD_FAILURE() << "ferry-proxy died with status " << *status << ":\n" << proc_->err();
    } else if (::testing::Test::HasFailure()) {
      std::cerr << "--- ferry-proxy stderr ---\n" << proc_->err() << "---\n";
    }
  }
  RunningProxy(const RunningProxy&) = delete;
  RunningProxy& operator=(const RunningProxy&) = delete;

  bool started() const { return started_; }
  Process& process() { return *proc_; }
  uint16_t stats_port() const { return stats_port_; }
  const TempDir& dir() const { return dir_; }
  // Rewrites the config file (for SIGHUP tests).
  void rewrite(const std::string& config) {
    std::string text = with_io_engine(config);
    replace_all(text, "{stats}", std::to_string(stats_port_));
    dir_.write("proxy.toml", text);
  }
  std::string metrics() { return http_get(stats_port_, "/metrics").value_or(""); }
  double metric(const std::string& name, const std::vector<std::string>& match = {}) {
    return ferry::test::metric(metrics(), name, match);
  }
  // Waits for a metric to reach at least `value`.
  bool wait_metric(const std::string& name, const std::vector<std::string>& match, double value,
                   Duration limit = 5s) {
    return wait_until([&] { return metric(name, match) >= value; }, limit);
  }

  // The config with the io_uring setting FERRY_TEST_IO_URING asks for (a
  // top-level key, so it goes first); unchanged when unset or already set.
  static std::string with_io_engine(const std::string& config) {
    const char* engine = std::getenv("FERRY_TEST_IO_URING");
    if (engine == nullptr || *engine == '\0' || config.find("io_uring") != std::string::npos)
      return config;
    return "io_uring = \"" + std::string(engine) + "\"\n" + config;
  }

  static void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
      s.replace(at, from.size(), to);
  }

 private:
  TempDir dir_;
  uint16_t stats_port_;
  std::string config_path_;
  std::unique_ptr<Process> proc_;
  bool started_ = false;
};

// A minimal config: one listener on `listen_port` to upstream "up" at
// `upstream_port`, plus `extra` TOML appended to the listener/upstream.
inline std::string simple_config(uint16_t listen_port, uint16_t upstream_port,
                                 const std::string& top = "", const std::string& listener = "",
                                 const std::string& upstream = "") {
  return "workers = 2\n" + top + "\n[stats]\nlisten = \"127.0.0.1:{stats}\"\n" +
         "\n[[listener]]\nlisten = \"127.0.0.1:" + std::to_string(listen_port) +
         "\"\nupstream = \"up\"\n" + listener +
         "\n[upstream.up]\nservers = [\"127.0.0.1:" + std::to_string(upstream_port) + "\"]\n" +
         upstream + "\n";
}

}  // namespace ferry::test
