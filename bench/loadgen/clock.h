// Monotonic nanoseconds: the only clock the load generator reads.
#pragma once

#include <time.h>

#include <cstdint>

namespace ferry::bench {

inline uint64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t seconds_to_ns(double s) {
  return static_cast<uint64_t>(s * 1e9);
}

}  // namespace ferry::bench
