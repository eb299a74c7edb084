#include "report.h"

#include <fmt/format.h>

#include <cstdio>

namespace ferry::bench {

namespace {
// Keys and values never contain the separators, whatever a reason string holds.
std::string clean(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c <= ' ' || c == '=' || c == 0x7f) c = '_';
  }
  return out;
}
}  // namespace

void Report::add(std::string_view key, std::string_view value) {
  fields_.emplace_back(clean(key), clean(value));
}

void Report::add(std::string_view key, uint64_t value) {
  fields_.emplace_back(clean(key), std::to_string(value));
}

void Report::add(std::string_view key, double value, int decimals) {
  fields_.emplace_back(clean(key), fmt::format("{:.{}f}", value, decimals));
}

void Report::add_errors(const ErrorCounter& errors) {
  add("errors", errors.total());
  for (const auto& [reason, count] : errors.by_reason()) add("err_" + reason, count);
}

void Report::print() const {
  std::string line;
  for (const auto& [key, value] : fields_) {
    if (!line.empty()) line += ' ';
    line += key;
    line += '=';
    line += value;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace ferry::bench
