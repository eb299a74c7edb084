// Debian's HAProxy as a peer in integration tests: the reference
// implementation of the PROXY protocol, on either side of ferry-proxy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/harness.h"

namespace ferry::test {

// True when something listens on TCP `port` (IPv4 or IPv6), from
// /proc/net/tcp{,6}: a readiness check that opens no connection.
bool is_listening(uint16_t port);

class RunningHaproxy {
 public:
  // `sections` are HAProxy frontends/backends; global and defaults (mode
  // tcp, short timeouts, a log on stderr, an admin socket) come first.
  // Waits until every port in `listen_ports` is listening.
  RunningHaproxy(const std::string& sections, const std::vector<uint16_t>& listen_ports);

  bool started() const { return started_; }
  Process& process() { return *proc_; }
  std::string config() const { return read_file(dir_.file("haproxy.cfg")); }
  // A command on the admin socket ("show stat", "show servers state"); the
  // answer, or "" on failure.
  std::string command(const std::string& cmd);
  // A server's field from "show stat" (e.g. "status", "check_status",
  // "chkfail"); "" if not found.
  std::string server_stat(const std::string& backend, const std::string& server,
                          const std::string& field);

  static constexpr const char* kBinary = "/usr/sbin/haproxy";

 private:
  TempDir dir_;
  std::unique_ptr<Process> proc_;
  bool started_ = false;
};

}  // namespace ferry::test
