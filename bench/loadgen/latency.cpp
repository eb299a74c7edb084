#include "latency.h"

#include <algorithm>
#include <limits>

namespace ferry::bench {

void LatencyRecorder::add(uint64_t ns) {
  if (samples_.size() >= kMaxSamples) return;
  samples_.push_back(
      static_cast<uint32_t>(std::min<uint64_t>(ns, std::numeric_limits<uint32_t>::max())));
}

double LatencyRecorder::quantile_us(double q) {
  if (samples_.empty()) return 0;
  q = std::clamp(q, 0.0, 1.0);
  size_t index = static_cast<size_t>(q * static_cast<double>(samples_.size() - 1) + 0.5);
  std::nth_element(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(index),
                   samples_.end());
  return static_cast<double>(samples_[index]) / 1000.0;
}

}  // namespace ferry::bench
