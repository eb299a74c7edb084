// Integration-test harness: real processes and real sockets on loopback,
// every wait bounded by a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/fd.h"

namespace ferry::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Duration = std::chrono::milliseconds;

// Milliseconds left until `deadline` (0 once it passed).
int remaining_ms(Clock::time_point deadline);
// Waits for `events` (POLLIN/POLLOUT) on `fd` until `deadline`; false on
// timeout or error.
bool poll_for(int fd, short events, Clock::time_point deadline);

// Polls `cond` every few ms until it holds or `limit` passes.
bool wait_until(const std::function<bool()>& cond, Duration limit);

// A directory under /tmp removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string write(const std::string& name, const std::string& content, int mode = 0600) const;

 private:
  std::string path_;
};

std::string read_file(const std::string& path);

// A free TCP port on loopback (bound and released: good enough for tests).
uint16_t free_port();

// A child process with stdout and stderr captured to files.
class Process {
 public:
  Process(std::string binary, std::vector<std::string> args, std::string log_dir,
          std::map<std::string, std::string> env = {});
  ~Process();  // SIGKILL if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Exit status, or nullopt if it did not exit within `limit`.
  std::optional<int> wait_exit(Duration limit);
  std::string out() const;
  std::string err() const;
  // Waits until stderr (or stdout) contains `text`.
  bool wait_for_log(const std::string& text, Duration limit = 10s);
  // Resident set size in KiB, now and at its peak, from /proc.
  long rss_kib() const;
  long peak_rss_kib() const;
  // utime+stime of all threads, in clock ticks.
  long cpu_ticks() const;

 private:
  long status_kib(const char* field) const;
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_;
  std::string err_path_;
};

// Runs a command to completion (bounded); returns exit code, output in `out`.
int run_command(const std::vector<std::string>& argv, std::string& out, Duration limit = 30s);

// Runs binary(program) ARGS with so little address space (19 MB) that its
// very first thread cannot get a stack: what run_guarded() is for. 14 to
// 22 MB do that here; with 30 MB one thread started, and what it did while
// main unwound made the result vary. --stack pins the thread stack size,
// which glibc takes from RLIMIT_STACK. status: nullopt if still running
// after 10 s (then killed).
struct Outcome {
  std::optional<int> status;
  std::string err;
};
Outcome run_without_memory(const std::string& program, std::vector<std::string> args);

// Blocking client socket helpers with deadlines.
net::Fd connect_to(const std::string& host, uint16_t port, Duration limit = 5s);
bool send_all(int fd, const void* data, size_t len, Duration limit = 10s);
bool send_all(int fd, const std::string& s, Duration limit = 10s);
// Reads exactly `len` bytes; false on EOF, error or deadline.
bool recv_exact(int fd, void* data, size_t len, Duration limit = 10s);
std::optional<std::string> recv_exact(int fd, size_t len, Duration limit = 10s);
// True if the peer closed (EOF or reset) within `limit`, reading and
// discarding anything before that.
bool wait_closed(int fd, Duration limit = 5s);
// True if nothing arrives and the socket stays open for `quiet`.
bool stays_open(int fd, Duration quiet);

// GET http://127.0.0.1:port/path; nullopt on failure. `status` gets the code.
std::optional<std::string> http_get(uint16_t port, const std::string& path, int* status = nullptr);
// Sum of a Prometheus metric's samples whose labels contain every `match`
// fragment (e.g. {"listener=\"a\"", "reason=\"done\""}).
double metric(const std::string& text, const std::string& name,
              const std::vector<std::string>& match = {});

std::string random_bytes(size_t n, uint32_t seed);

// Where the built binaries are.
std::string binary(const std::string& name);

}  // namespace ferry::test
