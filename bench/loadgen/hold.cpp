// Hold: many idle relayed connections, to measure what an idle connection
// costs the relay. Each is proven with one small echo first, so the relay has
// dialled upstream and done its per-connection setup. Prints a line when all
// are established (scripts wait for it), then holds until stopped or the
// duration ends, counting connections the relay drops.
#include <sys/socket.h>

#include <array>
#include <cerrno>

#include "clock.h"
#include "establish.h"
#include "report.h"
#include "support/poller.h"
#include "support/stop_signal.h"
#include "workloads.h"

namespace ferry::bench {

int run_hold(const Options& opt) {
  StopSignal stop;
  ErrorCounter errors;
  uint64_t started = now_ns();
  EstablishRequest req{&opt.target,
                       opt.connections,
                       opt.parallel,
                       16,
                       started + seconds_to_ns(opt.setup_timeout_s),
                       seconds_to_ns(opt.op_timeout_s),
                       &stop};
  std::vector<net::Fd> conns = establish(req, errors);
  double setup_s = static_cast<double>(now_ns() - started) / 1e9;

  Report ready;
  ready.add("workload", "hold");
  ready.add("phase", "established");
  ready.add("status", static_cast<int>(conns.size()) == opt.connections ? "ok" : "incomplete");
  ready.add("target", opt.target.text);
  ready.add("connections", static_cast<uint64_t>(opt.connections));
  ready.add("established", static_cast<uint64_t>(conns.size()));
  ready.add("setup_seconds", setup_s, 3);
  ready.add_errors(errors);
  ready.print();

  // Idle from here on: any readable event is the relay closing (or sending
  // something it should not).
  Poller poller;
  for (size_t i = 0; i < conns.size(); ++i) poller.add(conns[i].get(), EPOLLIN | EPOLLRDHUP, i);
  poller.add(stop.fd(), EPOLLIN, conns.size());
  uint64_t dropped = 0;
  uint64_t end = now_ns() + seconds_to_ns(opt.duration_s);
  std::array<epoll_event, 256> events{};
  bool stopping = false;
  while (!stopping) {
    uint64_t now = now_ns();
    if (now >= end) break;
    int timeout_ms = static_cast<int>(std::min<uint64_t>((end - now) / 1'000'000 + 1, 1000));
    int n = poller.wait(events, timeout_ms);
    for (int k = 0; k < n; ++k) {
      size_t i = static_cast<size_t>(events[static_cast<size_t>(k)].data.u64);
      if (i == conns.size()) {
        stopping = true;
        continue;
      }
      if (i > conns.size() || !conns[i]) continue;
      std::array<unsigned char, 256> buf{};
      ssize_t got = ::recv(conns[i].get(), buf.data(), buf.size(), 0);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      errors.add(got == 0  ? "dropped_eof"
                 : got < 0 ? "dropped"
                           : "unexpected_data",
                 got < 0 ? errno : 0);
      ++dropped;
      conns[i].reset();
    }
  }

  Report done;
  done.add("workload", "hold");
  done.add("phase", "done");
  done.add("held", static_cast<uint64_t>(conns.size()) - dropped);
  done.add("dropped", dropped);
  done.add_errors(errors);
  done.print();
  return conns.empty() ? 1 : 0;
}

}  // namespace ferry::bench
