#include "proxy/health.h"

#include <algorithm>
#include <cstring>

#include "common/log.h"
#include "net/socket.h"

namespace ferry::proxy {

// One connect attempt to one server.
class HealthChecker::Probe final : public net::Deferred,
                                   public net::IoHandler,
                                   public net::TimerHandler {
 public:
  Probe(HealthChecker& owner, std::shared_ptr<UpstreamState> up, ServerState& server)
      : owner_(owner), upstream_(std::move(up)), server_(server) {}
  ~Probe() override = default;

  void start() {
    net::SocketAddress addr;
    // Not resolved yet: nothing to check. (Unresolved already counts as
    // down; marking it would keep it down after the resolver answers.)
    if (!server_.next_address(addr)) return skip();
    int err = 0;
    fd_ = net::connect_tcp(addr, err);
    // Our own shortage (descriptors, memory, local ports) says nothing about
    // the server: no verdict this round, as for a connection's dial.
    if (!fd_ && net::out_of_resources(err)) {
      log::write_limited(log::Level::warn, "health_check_skipped",
                         {{"upstream", server_.upstream()}, {"error", std::strerror(err)}});
      return skip();
    }
    if (!fd_) return done(false, std::strerror(err));
    owner_.loop_.add(fd_.get(), EPOLLOUT | EPOLLET, this);
    owner_.loop_.schedule_in(timer_, static_cast<uint64_t>(owner_.timeout_.count()), this);
  }

  void on_io(uint32_t) override {
    int err = net::socket_error(fd_.get());
    done(err == 0, err == 0 ? "" : std::strerror(err));
  }
  void on_timer() override { done(false, "timeout"); }
  // Dropped without a verdict (a reload replaced the checks).
  void abandon() {
    stop();
    owner_.loop_.defer_delete(this);
  }

 private:
  void stop() {
    finished_ = true;
    timer_.cancel();
    fd_.reset();  // also leaves epoll
  }

  void skip() {
    finished_ = true;
    owner_.finished(this);
  }

  void done(bool ok, const char* why) {
    if (finished_) return;
    stop();
    if (!ok) server_.metrics().health_checks_failed.fetch_add(1, std::memory_order_relaxed);
    server_.mark(ok, why);
    owner_.finished(this);
  }

  HealthChecker& owner_;
  std::shared_ptr<UpstreamState> upstream_;  // keeps server_ alive
  ServerState& server_;
  net::Fd fd_;
  net::Timer timer_;
  bool finished_ = false;
};

// The periodic timer of one upstream.
class HealthChecker::Schedule final : public net::TimerHandler {
 public:
  Schedule(HealthChecker& owner, std::shared_ptr<UpstreamState> up)
      : owner_(owner), upstream_(std::move(up)) {}
  void arm(uint64_t delay_ms) { owner_.loop_.schedule_in(timer_, delay_ms, this); }
  void on_timer() override {
    for (size_t i = 0; i < upstream_->size(); ++i) owner_.start_probe(upstream_, i);
    arm(static_cast<uint64_t>(upstream_->config().health_check_interval.count()));
  }

 private:
  HealthChecker& owner_;
  std::shared_ptr<UpstreamState> upstream_;
  net::Timer timer_;
};

HealthChecker::HealthChecker(net::EventLoop& loop, Millis timeout)
    : loop_(loop), timeout_(timeout) {}

HealthChecker::~HealthChecker() {
  schedules_.clear();
  for (Probe* p : probes_) delete p;
}

void HealthChecker::watch(const std::vector<std::shared_ptr<UpstreamState>>& upstreams,
                          Millis timeout) {
  timeout_ = timeout;
  schedules_.clear();
  // A verdict of the old configuration's checks must not land after this:
  // with checks now off, a server it marked down would stay down for good.
  for (Probe* p : probes_) p->abandon();
  probes_.clear();
  for (const auto& up : upstreams) {
    if (!up->health_checked()) continue;
    schedules_.push_back(std::make_unique<Schedule>(*this, up));
    schedules_.back()->arm(0);
  }
}

void HealthChecker::start_probe(const std::shared_ptr<UpstreamState>& up, size_t server) {
  auto* p = new Probe(*this, up, up->server(server));
  probes_.push_back(p);
  p->start();
}

void HealthChecker::finished(Probe* p) {
  auto it = std::find(probes_.begin(), probes_.end(), p);
  if (it == probes_.end()) return;
  probes_.erase(it);
  loop_.defer_delete(p);  // may be inside p's own callback
}

}  // namespace ferry::proxy
