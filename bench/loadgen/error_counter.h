// Errors of a run, counted by reason ("connect_ECONNREFUSED", "eof_early",
// ...). A run never stops on an error: it counts it, logs it (rate-limited)
// and reports every reason on the result line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace ferry::bench {

class ErrorCounter {
 public:
  // `log_each`: log errors as they happen (off when failures are expected).
  explicit ErrorCounter(bool log_each = true) : log_each_(log_each) {}

  // `err` is an errno value appended to the reason when non-zero.
  void add(std::string_view reason, int err = 0);
  void add_detail(std::string_view reason, std::string_view detail);
  uint64_t total() const { return total_; }
  const std::map<std::string, uint64_t>& by_reason() const { return counts_; }

 private:
  std::map<std::string, uint64_t> counts_;
  uint64_t total_ = 0;
  bool log_each_ = true;
};

}  // namespace ferry::bench
