// The load generator's subcommands. Each prints one result line (report.h)
// and returns the process exit code: 0 when the run completed, 1 when it
// could not run at all. Errors during a run are counted, not fatal.
#pragma once

#include "options.h"

namespace ferry::bench {

// N connections, each sends `size` bytes and waits for all of them back.
int run_pingpong(const Options& opt);
// Connect, 16 B echo, close; as many as possible, `concurrency` at a time.
int run_connect(const Options& opt);
// Full TLS handshake (no resumption), 16 B echo, close.
int run_tls_handshake(const Options& opt);
// Opens N echo-proven connections, reports, then holds them idle.
int run_hold(const Options& opt);
// Waits until the target accepts (and echoes, unless connect_only).
int run_wait(const Options& opt);

}  // namespace ferry::bench
