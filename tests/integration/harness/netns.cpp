#include "harness/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace ferry::test {
namespace {

std::string find_ip() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

}  // namespace

NetNamespace::NetNamespace() : ip_(find_ip()) {
  if (::geteuid() != 0) {
    error_ = "network namespaces need root";
    return;
  }
  if (ip_.empty()) {
    error_ = "no ip (iproute2) binary";
    return;
  }
  // Unique per process and per instance, so parallel test runs never share.
  static std::atomic<int> counter{0};
  name_ = "ferry-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::string out;
  if (run_command({ip_, "netns", "add", name_}, out, 10s) != 0) {
    error_ = "ip netns add " + name_ + " failed: " + out;
    return;
  }
  created_ = true;
  if (run_command({ip_, "-n", name_, "link", "set", "lo", "up"}, out, 10s) != 0) {
    error_ = "cannot bring lo up in " + name_ + ": " + out;
  }
}

NetNamespace::~NetNamespace() {
  if (!created_) return;
  std::string out;
  run_command({ip_, "netns", "delete", name_}, out, 10s);
}

std::vector<std::string> NetNamespace::exec_args(std::vector<std::string> argv) const {
  std::vector<std::string> args = {"netns", "exec", name_};
  args.insert(args.end(), argv.begin(), argv.end());
  return args;
}

std::unique_ptr<Process> NetNamespace::start(const std::string& binary,
                                             std::vector<std::string> args,
                                             const std::string& log_dir) const {
  args.insert(args.begin(), binary);
  return std::make_unique<Process>(ip_, exec_args(std::move(args)), log_dir);
}

int NetNamespace::run(std::vector<std::string> argv, std::string& out, Duration limit) const {
  std::vector<std::string> full = exec_args(std::move(argv));
  full.insert(full.begin(), ip_);
  return run_command(full, out, limit);
}

bool NetNamespace::inside(const std::function<void()>& fn) const {
  if (!ok()) return false;
  bool entered = false;
  // setns(CLONE_NEWNET) moves only the calling thread: a fresh one keeps the
  // test's own threads on the host's network.
  std::thread t([&] {
    int fd = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    entered = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    if (entered) fn();
  });
  t.join();
  return entered;
}

}  // namespace ferry::test
