#include "error_counter.h"

#include <cstring>

#include "common/log.h"

namespace ferry::bench {

void ErrorCounter::add(std::string_view reason, int err) {
  std::string key(reason);
  if (err != 0) {
    const char* name = ::strerrorname_np(err);
    key += '_';
    key += name != nullptr ? name : std::to_string(err);
  }
  ++counts_[key];
  ++total_;
  if (log_each_) log::write_limited(log::Level::warn, "loadgen_error", {{"reason", key}}, 5);
}

void ErrorCounter::add_detail(std::string_view reason, std::string_view detail) {
  ++counts_[std::string(reason)];
  ++total_;
  if (log_each_) {
    log::write_limited(log::Level::warn, "loadgen_error", {{"reason", reason}, {"detail", detail}},
                       5);
  }
}

}  // namespace ferry::bench
