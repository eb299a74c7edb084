// Round-trip latencies of one run, kept exactly (not bucketed) up to a cap so
// p50/p99 are true order statistics. Past the cap samples are counted only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ferry::bench {

class LatencyRecorder {
 public:
  static constexpr size_t kMaxSamples = 16u << 20;  // 64 MiB of uint32

  void add(uint64_t ns);
  void clear() { samples_.clear(); }
  size_t size() const { return samples_.size(); }

  // Quantile q in [0, 1] in microseconds (0 when there are no samples).
  // Reorders the samples; call after the run.
  double quantile_us(double q);

 private:
  std::vector<uint32_t> samples_;  // nanoseconds, clamped to ~4.29 s
};

}  // namespace ferry::bench
