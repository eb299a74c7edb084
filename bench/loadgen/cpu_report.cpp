#include "cpu_report.h"

#include <string>

namespace ferry::bench {
namespace {

// prefix_cpu_us and the per-operation key, or prefix_cpu_error.
void add_window(Report& report, const CpuWindow& cpu, uint64_t operations,
                const std::string& prefix, const std::string& per_op_key) {
  if (cpu.empty()) return;
  auto used = cpu.used_us();
  if (!used) {
    report.add(prefix + "_cpu_error", cpu.error());
    return;
  }
  report.add(prefix + "_cpu_us", *used);
  if (operations > 0)
    report.add(per_op_key, static_cast<double>(*used) / static_cast<double>(operations), 2);
}

}  // namespace

void CpuWatch::add_to(Report& report, uint64_t operations) const {
  add_window(report, relay_, operations, "relay", "cpu_us_per_op");
  add_window(report, upstream_, operations, "upstream", "upstream_cpu_us_per_op");
}

}  // namespace ferry::bench
