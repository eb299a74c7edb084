#include "harness.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "net/address.h"

namespace ferry::test {

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool poll_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool wait_until(const std::function<bool()>& cond, Duration limit) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    if (cond()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/ferry-test-XXXXXX";
  const char* p = ::mkdtemp(tmpl);
  path_ = p != nullptr ? p : "/tmp";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (path_.rfind("/tmp/ferry-test-", 0) == 0) std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content, int mode) const {
  std::string p = file(name);
  {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << content;
  }
  ::chmod(p.c_str(), static_cast<mode_t>(mode));
  return p;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

uint16_t free_port() {
  // Below the kernel's ephemeral range (32768 and up by default): a port
  // from there could be handed to some outgoing connection - ours open
  // thousands - between this check and the proxy's bind.
  static std::mt19937 rng(static_cast<uint32_t>(::getpid()) * 2654435761u ^
                          static_cast<uint32_t>(Clock::now().time_since_epoch().count()));
  static std::vector<uint16_t> given;
  for (int tries = 0; tries < 1000; ++tries) {
    auto port = static_cast<uint16_t>(20000 + rng() % 12000);
    if (std::find(given.begin(), given.end(), port) != given.end()) continue;
    bool free = true;
    for (int family : {AF_INET, AF_INET6}) {
      net::Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
      auto addr = net::SocketAddress::from_numeric(family == AF_INET ? "127.0.0.1" : "::1", port);
      free = free && ::bind(fd.get(), addr->sa(), addr->len()) == 0;
    }
    if (!free) continue;
    given.push_back(port);
    return port;
  }
  return 0;
}

Process::Process(std::string binary, std::vector<std::string> args, std::string log_dir,
                 std::map<std::string, std::string> env) {
  static int counter = 0;
  std::string tag = std::to_string(::getpid()) + "-" + std::to_string(counter++);
  out_path_ = log_dir + "/proc-" + tag + ".out";
  err_path_ = log_dir + "/proc-" + tag + ".err";
  std::vector<std::string> argv_s = {binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    for (auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    // The test process may block signals; the child must start clean.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
}

bool Process::running() {
  if (status_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

void Process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> Process::wait_exit(Duration limit) {
  wait_until([this] { return !running(); }, limit);
  return status_;
}

std::string Process::out() const {
  return read_file(out_path_);
}
std::string Process::err() const {
  return read_file(err_path_);
}

bool Process::wait_for_log(const std::string& text, Duration limit) {
  return wait_until(
      [&] {
        return err().find(text) != std::string::npos || out().find(text) != std::string::npos;
      },
      limit);
}

long Process::status_kib(const char* field) const {
  std::string status = read_file("/proc/" + std::to_string(pid_) + "/status");
  size_t at = status.find(field);
  if (at == std::string::npos) return -1;
  return std::strtol(status.c_str() + at + std::strlen(field), nullptr, 10);
}

long Process::rss_kib() const {
  return status_kib("VmRSS:");
}

long Process::peak_rss_kib() const {
  return status_kib("VmHWM:");
}

long Process::cpu_ticks() const {
  std::string stat = read_file("/proc/" + std::to_string(pid_) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::strtol(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtol(field.c_str(), nullptr, 10);
  }
  return utime + stime;
}

int run_command(const std::vector<std::string>& argv_s, std::string& out, Duration limit) {
  TempDir dir;
  std::vector<std::string> args(argv_s.begin() + 1, argv_s.end());
  std::string bin = argv_s[0];
  if (bin.find('/') == std::string::npos) bin = "/usr/bin/env";
  if (bin == "/usr/bin/env") args.insert(args.begin(), argv_s[0]);
  Process p(bin, args, dir.path());
  auto status = p.wait_exit(limit);
  out = p.out() + p.err();
  if (!status) return -1;
  return *status;
}

Outcome run_without_memory(const std::string& program, std::vector<std::string> args) {
  TempDir dir;
  args.insert(args.begin(), {"--as=19000000", "--stack=8388608", binary(program)});
  Process p("/usr/bin/prlimit", args, dir.path());
  Outcome o;
  o.status = p.wait_exit(10s);
  o.err = p.err();
  return o;
}

net::Fd connect_to(const std::string& host, uint16_t port, Duration limit) {
  auto addr = net::SocketAddress::from_numeric(host, port);
  if (!addr) return {};
  net::Fd fd(::socket(addr->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), addr->sa(), addr->len()) != 0 && errno != EINPROGRESS) return {};
  if (!poll_for(fd.get(), POLLOUT, Clock::now() + limit)) return {};
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return {};
  return fd;
}

bool send_all(int fd, const void* data, size_t len, Duration limit) {
  auto deadline = Clock::now() + limit;
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!poll_for(fd, POLLOUT, deadline)) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool send_all(int fd, const std::string& s, Duration limit) {
  return send_all(fd, s.data(), s.size(), limit);
}

bool recv_exact(int fd, void* data, size_t len, Duration limit) {
  auto deadline = Clock::now() + limit;
  char* p = static_cast<char*>(data);
  while (len > 0) {
    ssize_t n = ::recv(fd, p, len, MSG_DONTWAIT);
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return false;
    if (errno == EAGAIN || errno == EINTR) {
      if (!poll_for(fd, POLLIN, deadline)) return false;
      continue;
    }
    return false;
  }
  return true;
}

std::optional<std::string> recv_exact(int fd, size_t len, Duration limit) {
  std::string s(len, '\0');
  if (!recv_exact(fd, s.data(), len, limit)) return std::nullopt;
  return s;
}

bool wait_closed(int fd, Duration limit) {
  auto deadline = Clock::now() + limit;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return true;  // reset counts
    if (n < 0 && !poll_for(fd, POLLIN, deadline)) return false;
  }
}

bool stays_open(int fd, Duration quiet) {
  pollfd p{fd, POLLIN, 0};
  int rc = ::poll(&p, 1, static_cast<int>(quiet.count()));
  return rc == 0;
}

std::optional<std::string> http_get(uint16_t port, const std::string& path, int* status) {
  net::Fd fd = connect_to("127.0.0.1", port, 3s);
  if (!fd) return std::nullopt;
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  if (!send_all(fd.get(), req)) return std::nullopt;
  std::string resp;
  auto deadline = Clock::now() + 5s;
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      resp.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (errno != EAGAIN || !poll_for(fd.get(), POLLIN, deadline)) return std::nullopt;
  }
  if (resp.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
  if (status != nullptr) *status = std::atoi(resp.c_str() + 9);
  size_t body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

double metric(const std::string& text, const std::string& name,
              const std::vector<std::string>& match) {
  double total = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind(name, 0) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    bool all = true;
    for (const auto& m : match) all = all && line.find(m) != std::string::npos;
    if (!all) continue;
    total += std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return total;
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  for (; i < n; ++i) s[i] = static_cast<char>(rng());
  return s;
}

std::string binary(const std::string& name) {
  return std::string(FERRY_BINARY_DIR) + "/bin/" + name;
}

}  // namespace ferry::test
