// The watched processes' CPU over the measured window, added to a result line:
// the relay's (relay_cpu_us, cpu_us_per_op) and the upstream's
// (upstream_cpu_us_per_op). The upstream (ferry-echo) makes one recv and one
// send per round trip, half of what any relay must make, so twice its CPU per
// operation is the kernel floor a relay is measured against (bench/README.md).
#pragma once

#include <cstdint>

#include "options.h"
#include "report.h"
#include "support/proc_cpu.h"

namespace ferry::bench {

class CpuWatch {
 public:
  explicit CpuWatch(const Options& opt) : relay_(opt.watch_pids), upstream_(opt.upstream_pids) {}
  void start() {
    relay_.start();
    upstream_.start();
  }
  void stop() {
    relay_.stop();
    upstream_.stop();
  }
  void add_to(Report& report, uint64_t operations) const;

 private:
  CpuWindow relay_;
  CpuWindow upstream_;
};

}  // namespace ferry::bench
