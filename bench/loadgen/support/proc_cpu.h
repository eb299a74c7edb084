// CPU time of other processes, from /proc/PID/stat (utime + stime, all
// threads). The relay's CPU per operation is the benchmark's steadiest
// number: the load generator and the upstream share the same cores.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ferry::bench {

// utime + stime of `pid` in microseconds, or nullopt if it cannot be read.
std::optional<uint64_t> process_cpu_us(pid_t pid);

// Sums the CPU of several processes between start() and stop().
class CpuWindow {
 public:
  explicit CpuWindow(std::vector<pid_t> pids) : pids_(std::move(pids)) {}
  bool empty() const { return pids_.empty(); }
  void start();
  void stop();
  // Microseconds used in the window; nullopt when a process could not be read.
  std::optional<uint64_t> used_us() const;
  std::string error() const { return error_; }

 private:
  std::optional<uint64_t> sum(std::string& error) const;
  std::vector<pid_t> pids_;
  std::optional<uint64_t> start_;
  std::optional<uint64_t> stop_;
  std::string error_;
};

}  // namespace ferry::bench
