// Ping-pong: the relay's per-message cost. Every connection has exactly one
// message in flight, so throughput is bounded by round-trip latency and the
// relay's CPU per round trip is what decides how many users a core carries.
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "clock.h"
#include "cpu_report.h"
#include "establish.h"
#include "latency.h"
#include "report.h"
#include "support/poller.h"
#include "support/proc_cpu.h"
#include "support/stop_signal.h"
#include "workloads.h"

namespace ferry::bench {
namespace {

struct Conn {
  net::Fd fd;
  int sent = 0;
  int received = 0;
  uint64_t started_ns = 0;
  bool want_write = false;
};

class PingPong {
 public:
  explicit PingPong(const Options& opt) : opt_(opt), cpu_(opt) {}

  int run() {
    StopSignal stop;
    uint64_t setup_deadline = now_ns() + seconds_to_ns(opt_.setup_timeout_s);
    EstablishRequest req{&opt_.target,   opt_.connections,
                         opt_.parallel,  0,
                         setup_deadline, seconds_to_ns(opt_.op_timeout_s),
                         &stop};
    std::vector<net::Fd> fds = establish(req, errors_);
    established_ = fds.size();
    conns_.resize(fds.size());
    for (size_t i = 0; i < fds.size(); ++i) {
      conns_[i].fd = std::move(fds[i]);
      if (!poller_.add(conns_[i].fd.get(), EPOLLIN, i)) fail(i, "epoll_add", errno);
    }
    alive_ = conns_.size();

    uint64_t start = now_ns();
    uint64_t measure_from = start + seconds_to_ns(opt_.warmup_s);
    uint64_t end = measure_from + seconds_to_ns(opt_.duration_s);
    for (size_t i = 0; i < conns_.size(); ++i) begin_round(i, start);

    bool measuring = false;
    uint64_t measured_from_ns = measure_from;
    std::array<epoll_event, 512> events{};
    uint64_t now = start;
    while (now < end && alive_ > 0 && !stop.pending()) {
      if (!measuring && now >= measure_from) {
        measuring = true;
        measured_from_ns = now;
        messages_ = 0;
        latencies_.clear();
        cpu_.start();
      }
      measuring_ = measuring;
      int n = poller_.wait(events, 10);
      for (int i = 0; i < n; ++i) handle(events[static_cast<size_t>(i)]);
      now = now_ns();
    }
    if (!measuring) {  // ended early (all connections failed or stopped)
      measured_from_ns = now;
      messages_ = 0;
      cpu_.start();
    }
    cpu_.stop();
    double elapsed = static_cast<double>(now - measured_from_ns) / 1e9;
    report(elapsed);
    return established_ == 0 ? 1 : 0;
  }

 private:
  void begin_round(size_t i, uint64_t now) {
    Conn& c = conns_[i];
    c.sent = 0;
    c.received = 0;
    c.started_ns = now;
    write_some(i);
  }

  void write_some(size_t i) {
    Conn& c = conns_[i];
    ssize_t n = ::send(c.fd.get(), pattern() + c.sent, static_cast<size_t>(opt_.size - c.sent),
                       MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) return fail(i, "send", errno);
      n = 0;
    }
    c.sent += static_cast<int>(n);
    bool want = c.sent < opt_.size;
    if (want != c.want_write) {
      c.want_write = want;
      poller_.modify(c.fd.get(), want ? (EPOLLIN | EPOLLOUT) : EPOLLIN, i);
    }
  }

  void handle(const epoll_event& ev) {
    size_t i = static_cast<size_t>(ev.data.u64);
    if (i >= conns_.size() || !conns_[i].fd) return;
    Conn& c = conns_[i];
    if ((ev.events & EPOLLOUT) != 0 && c.want_write) write_some(i);
    if (!c.fd || (ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) == 0) return;
    ssize_t n = ::recv(c.fd.get(), scratch_.data(), scratch_.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return fail(i, "recv", errno);
    }
    if (n == 0) return fail(i, "eof");
    if (c.received + n > c.sent) return fail(i, "more_than_sent");
    if (std::memcmp(scratch_.data(), pattern() + c.received, static_cast<size_t>(n)) != 0)
      return fail(i, "echo_mismatch");
    c.received += static_cast<int>(n);
    if (c.received < opt_.size) return;
    uint64_t now = now_ns();
    if (measuring_) {
      ++messages_;
      latencies_.add(now - c.started_ns);
    }
    begin_round(i, now);
  }

  void fail(size_t i, const char* reason, int err = 0) {
    errors_.add(reason, err);
    conns_[i].fd.reset();
    --alive_;
  }

  void report(double elapsed) {
    Report r;
    r.add("workload", "pingpong");
    r.add("target", opt_.target.text);
    r.add("connections", static_cast<uint64_t>(opt_.connections));
    r.add("established", static_cast<uint64_t>(established_));
    r.add("alive_at_end", static_cast<uint64_t>(alive_));
    r.add("size", static_cast<uint64_t>(opt_.size));
    r.add("seconds", elapsed, 3);
    r.add("msgs", messages_);
    r.add("msgs_per_s", elapsed > 0 ? static_cast<double>(messages_) / elapsed : 0.0);
    r.add("p50_us", latencies_.quantile_us(0.50));
    r.add("p99_us", latencies_.quantile_us(0.99));
    r.add("p999_us", latencies_.quantile_us(0.999));
    cpu_.add_to(r, messages_);
    r.add_errors(errors_);
    r.print();
  }

  const Options& opt_;
  CpuWatch cpu_;
  Poller poller_;
  ErrorCounter errors_;
  LatencyRecorder latencies_;
  std::vector<Conn> conns_;
  std::array<unsigned char, 65536> scratch_{};
  size_t established_ = 0;
  size_t alive_ = 0;
  uint64_t messages_ = 0;
  bool measuring_ = false;
};

}  // namespace

int run_pingpong(const Options& opt) {
  return PingPong(opt).run();
}

}  // namespace ferry::bench
