// A network namespace of a test's own: only a loopback interface and no
// route out, so a test may bind privileged ports, or try to reach the
// internet, without touching the host. Created by `ip netns add` in the
// constructor, removed in the destructor (also when the test failed).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness/harness.h"

namespace ferry::test {

class NetNamespace {
 public:
  // Needs root and iproute2; check ok() (error() says why not).
  NetNamespace();
  ~NetNamespace();
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }

  // Starts `binary` inside. `ip netns exec` execs the program without
  // forking, so the Process's pid is the program's own.
  std::unique_ptr<Process> start(const std::string& binary, std::vector<std::string> args,
                                 const std::string& log_dir) const;
  // Runs a command inside to completion (bounded); exit code, output in `out`.
  int run(std::vector<std::string> argv, std::string& out, Duration limit = 10s) const;
  // Runs `fn` on a thread that entered the namespace: the sockets it opens
  // (connect_to, http_get, ...) live there. False if it could not enter.
  bool inside(const std::function<void()>& fn) const;

 private:
  std::vector<std::string> exec_args(std::vector<std::string> argv) const;

  std::string ip_;  // path of the ip binary
  std::string name_;
  std::string error_;
  bool created_ = false;
};

}  // namespace ferry::test
