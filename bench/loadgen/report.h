// The one machine-readable result line a subcommand prints on stdout:
// space-separated key=value pairs in a fixed order, e.g.
//   workload=pingpong connections=100 msgs_per_s=41234.5 p99_us=812.0 errors=0
// Scripts pick fields by key; values never contain spaces.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "error_counter.h"

namespace ferry::bench {

class Report {
 public:
  void add(std::string_view key, std::string_view value);
  void add(std::string_view key, uint64_t value);
  void add(std::string_view key, double value, int decimals = 1);
  // errors=N plus err_REASON=N for each reason.
  void add_errors(const ErrorCounter& errors);
  // Writes the line to stdout and flushes (scripts wait for it).
  void print() const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace ferry::bench
