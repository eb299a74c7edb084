// ferry-loadgen: the relay benchmark's load generator (bench/README.md).
//
//   ferry-loadgen pingpong --target 127.0.0.1:9000 --connections 1000 --size 512 --duration 5
//   ferry-loadgen connect --target ... --duration 5 --concurrency 32
//   ferry-loadgen tls-handshake --target ... --duration 5 --concurrency 16
//   ferry-loadgen hold --target ... --connections 8000 --duration 120
//   ferry-loadgen wait --target ... --setup-timeout 10 [--connect-only]
//
// Each prints one key=value result line on stdout (hold prints two); logs go
// to stderr. --watch-pid PID (repeatable) adds that process's CPU over the
// measured window: relay_cpu_us and cpu_us_per_op; --watch-upstream-pid PID
// adds upstream_cpu_us and upstream_cpu_us_per_op.
#include <CLI/CLI.hpp>
#include <string>

#include "common/log.h"
#include "options.h"
#include "workloads.h"

namespace {

using ferry::bench::Options;

void add_target(CLI::App* cmd, std::string& target) {
  cmd->add_option("--target", target, "HOST:PORT (numeric)")->required();
}
void add_timing(CLI::App* cmd, Options& o) {
  cmd->add_option("--duration", o.duration_s, "measured seconds")->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--warmup", o.warmup_s, "seconds before measuring")
      ->check(CLI::Range(0.0, 600.0));
  cmd->add_option("--watch-pid", o.watch_pids, "report this process's CPU (repeatable)");
  cmd->add_option("--watch-upstream-pid", o.upstream_pids,
                  "report this upstream process's CPU (repeatable)");
  cmd->add_option("--setup-timeout", o.setup_timeout_s, "seconds to open connections")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--op-timeout", o.op_timeout_s, "seconds one exchange may take")
      ->check(CLI::Range(0.01, 600.0));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ferry-loadgen: relay benchmark load generator"};
  app.require_subcommand(1);
  Options o;
  std::string target;

  auto* pingpong = app.add_subcommand("pingpong", "N connections, echo `size` bytes in turn");
  add_target(pingpong, target);
  add_timing(pingpong, o);
  pingpong->add_option("--connections", o.connections)->check(CLI::Range(1, 20000));
  pingpong->add_option("--size", o.size)->check(CLI::Range(1, ferry::bench::kPatternSize));
  pingpong->add_option("--parallel", o.parallel, "connects in flight while opening")
      ->check(CLI::Range(1, 4096));

  auto* connect = app.add_subcommand("connect", "connect, 16 B echo, close; connections/s");
  auto* tls = app.add_subcommand("tls-handshake", "full TLS handshake, 16 B echo, close");
  for (auto* cmd : {connect, tls}) {
    add_target(cmd, target);
    add_timing(cmd, o);
    cmd->add_option("--concurrency", o.concurrency)->check(CLI::Range(1, 10000));
  }

  auto* hold = app.add_subcommand("hold", "open N echo-proven connections and hold them");
  add_target(hold, target);
  add_timing(hold, o);
  hold->add_option("--connections", o.connections)->check(CLI::Range(1, 20000));
  hold->add_option("--parallel", o.parallel)->check(CLI::Range(1, 4096));

  auto* wait = app.add_subcommand("wait", "wait until the target is up");
  add_target(wait, target);
  wait->add_option("--setup-timeout", o.setup_timeout_s)->check(CLI::Range(0.1, 3600.0));
  wait->add_flag("--connect-only", o.connect_only, "a TCP connect is enough");

  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug|info|warn|error");
  CLI11_PARSE(app, argc, argv);

  ferry::log::Level level;
  if (!ferry::log::parse_level(log_level, level)) {
    ferry::log::error("bad_log_level", {{"value", log_level}});
    return 2;
  }
  ferry::log::set_level(level);

  std::string error;
  auto endpoint = ferry::bench::parse_endpoint(target, error);
  if (!endpoint) {
    ferry::log::error("bad_target", {{"target", target}, {"error", error}});
    return 2;
  }
  o.target = *endpoint;

  if (pingpong->parsed()) return ferry::bench::run_pingpong(o);
  if (connect->parsed()) return ferry::bench::run_connect(o);
  if (tls->parsed()) return ferry::bench::run_tls_handshake(o);
  if (hold->parsed()) return ferry::bench::run_hold(o);
  return ferry::bench::run_wait(o);
}
