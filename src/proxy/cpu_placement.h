// How many worker threads run by default, and where. With one worker per CPU and nothing pinned, the
// scheduler may leave two busy workers sharing one CPU while the other CPU
// runs other work; they then take turns a scheduler tick (4 ms here) at a
// time, and every connection of the waiting worker stalls for it. Pinning
// each worker to its own CPU removes that tail, but when another busy process
// shares the CPUs, a pinned worker cannot move away from it: TLS handshakes
// cost 20% more CPU (bench/results/relay.md). So pinning is opt-in
// (cpu_affinity = "auto"), for CPUs that are the proxy's own.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config.h"

namespace ferry::proxy {

// The CPUs this process may run on (sched_getaffinity: cgroup cpusets and
// taskset count), ascending; empty if the kernel does not say.
std::vector<int> allowed_cpus();

// Whole CPUs a cgroup v2 `cpu.max` line ("QUOTA PERIOD") allows, rounded up;
// 0 for "max" (no limit) or anything malformed.
size_t cpus_from_cpu_max(std::string_view text);

// The tightest CPU limit (cpu.max) on this process's cgroup v2 path, from its
// own cgroup up to the root, in whole CPUs rounded up; 0 when there is none or
// it cannot be read (cgroup v1 included). Kubernetes' CPU limits are such
// quotas: more busy threads than the quota allows are throttled together.
size_t cgroup_cpu_limit(const std::string& cgroup_root = "/sys/fs/cgroup",
                        const std::string& self_cgroup = "/proc/self/cgroup");

// workers = 0: one per CPU this process may use, no more than its cgroup's
// CPU limit, at least 1.
size_t default_worker_count();

// The CPU for each of `workers` workers; -1 leaves that worker to the
// scheduler. Pins only when policy is automatic and there are exactly as many
// workers as allowed CPUs (more than one): fewer workers than CPUs are better
// placed by the scheduler, and more would share CPUs, the very case pinning
// is meant to prevent.
std::vector<int> worker_cpus(CpuAffinity policy, size_t workers, const std::vector<int>& allowed);

// Pins the calling thread to `cpu`; false (errno set) if the kernel refused.
bool pin_this_thread(int cpu);

}  // namespace ferry::proxy
