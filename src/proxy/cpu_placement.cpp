#include "proxy/cpu_placement.h"

#include <sched.h>

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
