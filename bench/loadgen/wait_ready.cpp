// wait: polls a target until it accepts a connection (and echoes 16 bytes,
// unless --connect-only), so scripts start measuring only once a relay and
// its upstream are really up. Bounded by --setup-timeout.
#include <algorithm>
#include <chrono>
#include <thread>

#include "clock.h"
#include "establish.h"
#include "report.h"
#include "workloads.h"

namespace ferry::bench {

int run_wait(const Options& opt) {
  uint64_t started = now_ns();
  uint64_t deadline = started + seconds_to_ns(opt.setup_timeout_s);
  bool ready = false;
  uint64_t attempts = 0;
  while (!ready && now_ns() < deadline) {
    ++attempts;
    uint64_t attempt_deadline = std::min<uint64_t>(deadline, now_ns() + 1'000'000'000ULL);
    EstablishRequest req{&opt.target,      1,      1, opt.connect_only ? 0 : 16, attempt_deadline,
                         1'000'000'000ULL, nullptr};
    ErrorCounter attempt_errors(false);  // failures are expected until the target is up
    ready = establish(req, attempt_errors).size() == 1;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Report r;
  r.add("workload", "wait");
  r.add("target", opt.target.text);
  r.add("ready", ready ? "yes" : "no");
  r.add("attempts", attempts);
  r.add("seconds", static_cast<double>(now_ns() - started) / 1e9, 3);
  r.print();
  return ready ? 0 : 1;
}

}  // namespace ferry::bench
