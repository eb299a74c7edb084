// Adds the watched relay processes' CPU to a result line:
// relay_cpu_us (whole measured window) and cpu_us_per_op.
#pragma once

#include <cstdint>

#include "report.h"
#include "support/proc_cpu.h"

namespace ferry::bench {

void add_cpu(Report& report, const CpuWindow& cpu, uint64_t operations);

}  // namespace ferry::bench
