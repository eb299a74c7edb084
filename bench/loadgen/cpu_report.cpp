#include "cpu_report.h"

namespace ferry::bench {

void add_cpu(Report& report, const CpuWindow& cpu, uint64_t operations) {
  if (cpu.empty()) return;
  auto used = cpu.used_us();
  if (!used) {
    report.add("relay_cpu_error", cpu.error());
    return;
  }
  report.add("relay_cpu_us", *used);
  if (operations > 0)
    report.add("cpu_us_per_op", static_cast<double>(*used) / static_cast<double>(operations), 2);
}

}  // namespace ferry::bench
