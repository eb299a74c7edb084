// Where worker threads run. With one worker per CPU and nothing pinned, the
// scheduler may leave two busy workers sharing one CPU while the other CPU
// runs other work; they then take turns a scheduler tick (4 ms here) at a
// time, and every connection of the waiting worker stalls for it. Pinning
// each worker to its own CPU removes that tail, but when another busy process
// shares the CPUs, a pinned worker cannot move away from it: TLS handshakes
// cost 20% more CPU (bench/results/relay.md). So pinning is opt-in
// (cpu_affinity = "auto"), for CPUs that are the proxy's own.
#pragma once

#include <cstddef>
#include <vector>

#include "proxy/config.h"

namespace ferry::proxy {

// The CPUs this process may run on (sched_getaffinity: cgroup cpusets and
// taskset count), ascending; empty if the kernel does not say.
std::vector<int> allowed_cpus();

// The CPU for each of `workers` workers; -1 leaves that worker to the
// scheduler. Pins only when policy is automatic and there are exactly as many
// workers as allowed CPUs (more than one): fewer workers than CPUs are better
// placed by the scheduler, and more would share CPUs, the very case pinning
// is meant to prevent.
std::vector<int> worker_cpus(CpuAffinity policy, size_t workers, const std::vector<int>& allowed);

// Pins the calling thread to `cpu`; false (errno set) if the kernel refused.
bool pin_this_thread(int cpu);

}  // namespace ferry::proxy
