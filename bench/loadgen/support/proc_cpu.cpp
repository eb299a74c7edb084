#include "support/proc_cpu.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace ferry::bench {

std::optional<uint64_t> process_cpu_us(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may contain spaces and parentheses; the
  // fields we want are counted from the last ')'.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  uint64_t utime = 0;
  uint64_t stime = 0;
  // After ')': state(3) ppid(4) ... utime(14) stime(15).
  for (int index = 3; index <= 15; ++index) {
    if (!(rest >> field)) return std::nullopt;
    uint64_t* target = index == 14 ? &utime : index == 15 ? &stime : nullptr;
    if (target == nullptr) continue;
    auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), *target);
    if (ec != std::errc() || end != field.data() + field.size()) return std::nullopt;
  }
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) return std::nullopt;
  return (utime + stime) * 1'000'000ULL / static_cast<uint64_t>(hz);
}

std::optional<uint64_t> CpuWindow::sum(std::string& error) const {
  uint64_t total = 0;
  for (pid_t pid : pids_) {
    auto us = process_cpu_us(pid);
    if (!us) {
      error = "cannot read /proc/" + std::to_string(pid) + "/stat";
      return std::nullopt;
    }
    total += *us;
  }
  return total;
}

void CpuWindow::start() {
  start_ = sum(error_);
}
void CpuWindow::stop() {
  stop_ = sum(error_);
}

std::optional<uint64_t> CpuWindow::used_us() const {
  if (!start_ || !stop_ || *stop_ < *start_) return std::nullopt;
  return *stop_ - *start_;
}

}  // namespace ferry::bench
