// Active health checks: every health_check_interval, a TCP connect to each
// server of each upstream (layer 4, like WhatsApp's HAProxy `check`). Success
// marks the server up, failure or timeout marks it down. Runs on the control
// loop; workers only read the flags.
#pragma once

#include <memory>
#include <vector>

#include "common/duration.h"
#include "net/event_loop.h"
#include "proxy/upstream.h"

namespace ferry::proxy {

class HealthChecker {
 public:
  HealthChecker(net::EventLoop& loop, Millis timeout);
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;
  ~HealthChecker();

  // Replaces the checked upstreams (start, reload; their settings are in
  // force: proxy::take_effect). Checks start at once; those in flight are
  // dropped.
  void watch(const std::vector<std::shared_ptr<UpstreamState>>& upstreams, Millis timeout);

 private:
  class Probe;
  class Schedule;
  friend class Probe;

  void start_probe(const std::shared_ptr<UpstreamState>& up, size_t server);
  void finished(Probe* p);

  net::EventLoop& loop_;
  Millis timeout_;
  std::vector<std::unique_ptr<Schedule>> schedules_;
  std::vector<Probe*> probes_;  // in flight, owned
};

}  // namespace ferry::proxy
