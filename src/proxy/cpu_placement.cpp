#include "proxy/cpu_placement.h"

#include <sched.h>

#include <charconv>
#include <cstdint>
#include <fstream>
#include <thread>

namespace ferry::proxy {

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

size_t cpus_from_cpu_max(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  size_t space = text.find(' ');
  if (space == std::string_view::npos) return 0;
  std::string_view quota_text = text.substr(0, space);
  std::string_view period_text = text.substr(space + 1);
  uint64_t quota = 0;
  uint64_t period = 0;
  auto q = std::from_chars(quota_text.data(), quota_text.data() + quota_text.size(), quota);
  auto p = std::from_chars(period_text.data(), period_text.data() + period_text.size(), period);
  if (q.ec != std::errc() || q.ptr != quota_text.data() + quota_text.size()) return 0;
  if (p.ec != std::errc() || p.ptr != period_text.data() + period_text.size()) return 0;
  if (quota == 0 || period == 0) return 0;
  return static_cast<size_t>((quota + period - 1) / period);
}

size_t cgroup_cpu_limit(const std::string& cgroup_root, const std::string& self_cgroup) {
  // cgroup v2 has one line, "0::/PATH".
  std::ifstream self(self_cgroup);
  std::string line;
  std::string path;
  bool found = false;
  while (std::getline(self, line)) {
    if (line.rfind("0::", 0) == 0) {
      path = line.substr(3);
      found = true;
    }
  }
  if (!found || path.empty() || path.front() != '/') return 0;
  size_t tightest = 0;
  while (true) {
    std::ifstream max_file(cgroup_root + (path == "/" ? "" : path) + "/cpu.max");
    std::string text;
    if (max_file && std::getline(max_file, text)) {
      size_t cpus = cpus_from_cpu_max(text);
      if (cpus > 0 && (tightest == 0 || cpus < tightest)) tightest = cpus;
    }
    if (path == "/") break;
    size_t slash = path.rfind('/');
    path = slash == 0 ? "/" : path.substr(0, slash);
  }
  return tightest;
}

size_t default_worker_count() {
  size_t cpus = allowed_cpus().size();
  if (cpus == 0) cpus = std::thread::hardware_concurrency();
  size_t limit = cgroup_cpu_limit();
  if (limit > 0 && limit < cpus) cpus = limit;
  return cpus > 0 ? cpus : 1;
}

std::vector<int> worker_cpus(CpuAffinity policy, size_t workers, const std::vector<int>& allowed) {
  std::vector<int> cpus(workers, -1);
  if (policy != CpuAffinity::automatic || workers < 2 || workers != allowed.size()) return cpus;
  return allowed;
}

bool pin_this_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return ::sched_setaffinity(0, sizeof set, &set) == 0;
}

}  // namespace ferry::proxy
