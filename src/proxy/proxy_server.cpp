#include "proxy/proxy_server.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include "common/log.h"
#include "net/pipe_pool.h"
#include "net/socket.h"
#include "proxy/cpu_placement.h"
#include "proxy/privileges.h"
#include "proxy/stats.h"

namespace ferry::proxy {
namespace {

// Each relayed connection holds two descriptors. Container runtimes often
// start processes with a soft limit of 1024 and a far higher hard limit:
// take what we are allowed, and say when it cannot carry max_connections.
void raise_fd_limit(uint64_t max_connections, size_t workers) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  // Two per connection, two per splice pipe lent, and some for the rest.
  uint64_t needed = 2 * max_connections + 2 * net::PipePool::kMaxLent * workers + 256;
  if (rl.rlim_cur < needed) {
    log::warn("fd_limit_low", {{"limit", static_cast<uint64_t>(rl.rlim_cur)},
                               {"needed", needed},
                               {"max_connections", max_connections}});
  }
}

// "listener NAME: why", the form every bind error takes.
std::string listener_error(const std::string& name, const std::string& why) {
  std::string text = "listener ";
  text.append(name).append(": ").append(why);
  return text;
}

size_t worker_count(const Config& c) {
  return c.workers > 0 ? c.workers : default_worker_count();
}

}  // namespace

// SIGHUP, SIGTERM, SIGINT through a signalfd on the control loop: signal
// handling is ordinary code, not an async handler.
class ProxyServer::Signals final : public net::IoHandler {
 public:
  explicit Signals(ProxyServer& owner) : owner_(owner) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, s);
    fd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    owner_.control_.add(fd_.get(), EPOLLIN, this);
  }
  ~Signals() { owner_.control_.remove(fd_.get()); }

  void on_io(uint32_t) override {
    signalfd_siginfo info{};
    while (::read(fd_.get(), &info, sizeof info) == sizeof info) {
      switch (info.ssi_signo) {
        case SIGHUP:
          owner_.reload();
          break;
        case SIGTERM:
        case SIGINT:
          if (owner_.draining_) {
            owner_.drain_deadline();  // asked twice: stop now
          } else {
            owner_.begin_drain();
          }
          break;
        default:
          break;
      }
    }
  }

 private:
  ProxyServer& owner_;
  net::Fd fd_;
};

class ProxyServer::Ticker final : public net::TimerHandler {
 public:
  Ticker(net::EventLoop& loop, std::function<void()> fn) : loop_(loop), fn_(std::move(fn)) {}
  void at(uint64_t delay_ms) { loop_.schedule_in(timer_, delay_ms, this); }
  void on_timer() override { fn_(); }

 private:
  net::EventLoop& loop_;
  std::function<void()> fn_;
  net::Timer timer_;
};

ProxyServer::ProxyServer(Config config, ProxyOptions options)
    : initial_(std::move(config)),
      options_(std::move(options)),
      metrics_(worker_count(initial_)),
      shared_(metrics_) {}

ProxyServer::~ProxyServer() {
  for (auto& w : workers_) {
    w->loop().post([wp = w.get()] { wp->close_all(CloseReason::drained); });
    w->join();
  }
}

void ProxyServer::apply_settings(const Config& config) {
  log::Level level = log::Level::info;
  if (log::parse_level(config.log_level, level)) log::set_level(level);
  log::set_log_client_addresses(config.log_client_addresses);
  shared_.max_connections.store(config.max_connections, std::memory_order_relaxed);
  shared_.per_ip.set_limits(config.limits.per_ip_connections, config.limits.per_ip_new_per_second);
}

bool ProxyServer::bind_new_listeners(const Runtime& rt,
                                     std::vector<std::vector<Worker::Binding>>& per_worker,
                                     std::string& error) {
  per_worker.clear();
  per_worker.resize(workers_.size());
  for (const auto& lr : rt.listeners) {
    std::string key = lr->bind_address.to_string();
    bool have = std::find(bound_.begin(), bound_.end(), key) != bound_.end();
    // SO_REUSEPORT lets any socket of the same user join the group: a second
    // ferry-proxy would silently share our clients. Bind once without it
    // first, which fails while anyone else listens there.
    if (!have) {
      net::ListenOptions probe_opts;
      probe_opts.reuse_port = false;
      net::Fd probe = net::listen_tcp(lr->bind_address, probe_opts, error);
      if (!probe) {
        error = listener_error(lr->config.name, error);
        // Often ourselves: a listener moved to an overlapping address on the
        // same port (127.0.0.1:443 -> 0.0.0.0:443) collides with its old socket.
        for (const std::string& b : bound_) {
          auto hp = net::HostPort::parse(b);
          if (hp && hp->port == lr->bind_address.port()) {
            error += " (this proxy listens on " + b +
                     ": moving a listener to another address on the same port needs a restart)";
            break;
          }
        }
        return false;
      }
    }
    for (size_t i = 0; i < workers_.size(); ++i) {
      net::Fd fd;
      if (!have) {
        net::ListenOptions opts;
        opts.reuse_port = true;
        fd = net::listen_tcp(lr->bind_address, opts, error);
        if (!fd) {
          error = listener_error(lr->config.name, error);
          return false;
        }
      }
      per_worker[i].push_back({lr, std::move(fd)});
    }
  }
  return true;
}

bool ProxyServer::init(std::string& error) {
  // Every thread started from here on inherits this mask; only the signalfd
  // sees these signals.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  (void)::signal(SIGPIPE, SIG_IGN);  // SSL_write on a reset socket must not kill us

  started_ms_ = net::monotonic_ms();
  apply_settings(initial_);
  raise_fd_limit(initial_.max_connections, metrics_.workers());
  runtime_ = build_runtime(initial_, metrics_, nullptr, error);
  if (!runtime_) return false;

  for (size_t i = 0; i < metrics_.workers(); ++i)
    workers_.push_back(std::make_unique<Worker>(i, shared_));
  if (initial_.io_uring == IoUring::automatic) {
    std::string why;
    bool all = true;
    for (auto& w : workers_) all = all && w->use_ring(why);
    if (!all) {
      for (auto& w : workers_) w->drop_ring();  // every worker alike
      log::info("io_uring_unavailable", {{"error", why}, {"using", "epoll"}});
    }
  }
  const net::Ring* ring = workers_.empty() ? nullptr : workers_.front()->loop().ring();
  io_engine_ = ring == nullptr ? "epoll" : "io_uring";
  limits_multishot_ = ring != nullptr && ring->limits_multishot();
  std::vector<std::vector<Worker::Binding>> bindings;
  if (!bind_new_listeners(*runtime_, bindings, error)) return false;
  take_effect(*runtime_, metrics_);
  for (size_t i = 0; i < workers_.size(); ++i) workers_[i]->apply(std::move(bindings[i]));
  for (const auto& lr : runtime_->listeners) bound_.push_back(lr->bind_address.to_string());

  if (initial_.stats.enabled) {
    auto addr = net::SocketAddress::from_host_port(initial_.stats.listen);
    if (!addr) {
      error = "stats listen address must be numeric: " + initial_.stats.listen.to_string();
      return false;
    }
    stats_server_ = std::make_unique<net::HttpServer>(control_, [this](const net::HttpRequest& r) {
      StatsSnapshot snap{&metrics_, runtime_.get(), draining_,
                         (net::monotonic_ms() - started_ms_) / 1000};
      return serve_stats(snap, r);
    });
    if (!stats_server_->listen(*addr, error)) {
      error = "stats: " + error;
      return false;
    }
  }

  if (!initial_.user.empty()) {
    if (!drop_privileges(initial_.user, error)) return false;
    log::info("privileges_dropped", {{"user", initial_.user}});
  }

  signals_ = std::make_unique<Signals>(*this);
  resolver_ = std::make_unique<Resolver>();
  resolver_->watch(runtime_->upstreams);
  health_ = std::make_unique<HealthChecker>(control_, initial_.limits.connect_timeout);
  health_->watch(runtime_->upstreams, initial_.limits.connect_timeout);
  sweep_timer_ = std::make_unique<Ticker>(control_, [this] { sweep(); });
  sweep_timer_->at(1000);

  for (const auto& lr : runtime_->listeners) {
    log::info("listener_started", {{"listener", lr->config.name},
                                   {"listen", lr->bind_address.to_string()},
                                   {"tls", lr->config.tls},
                                   {"accept_proxy", lr->config.accept_proxy},
                                   {"upstream", lr->config.upstream}});
  }
  if (stats_server_)
    log::info("stats_started", {{"listen", stats_server_->local_address().to_string()}});
  return true;
}

int ProxyServer::run() {
  running_workers_ = workers_.size();
  std::vector<int> cpus = worker_cpus(initial_.cpu_affinity, workers_.size(), allowed_cpus());
  for (size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->start(cpus[i], [this] {
      if (running_workers_.fetch_sub(1) == 1) control_.stop();
    });
  }
  log::info("started", {{"workers", workers_.size()},
                        {"pinned", cpus.front() >= 0},
                        {"io", io_engine_},
                        {"multishot_limit", limits_multishot_},
                        {"source", initial_.source}});
  control_.run();
  for (auto& w : workers_) w->join();
  log::info("stopped", {{"draining", draining_}});
  return 0;
}

void ProxyServer::sweep() {
  shared_.per_ip.sweep(net::monotonic_ms());
  sweep_timer_->at(1000);
}

void ProxyServer::reload() {
  if (draining_) return;
  log::info("reload_started");
  ConfigResult result = options_.reload ? options_.reload() : ConfigResult(runtime_->config);
  if (auto* err = std::get_if<ConfigError>(&result)) {
    log::error("reload_failed", {{"error", err->to_string()}, {"kept", "previous configuration"}});
    return;
  }
  Config next = std::get<Config>(std::move(result));
  std::string error;
  auto rt = build_runtime(next, metrics_, runtime_.get(), error);
  std::vector<std::vector<Worker::Binding>> bindings;
  if (!rt || !bind_new_listeners(*rt, bindings, error)) {
    log::error("reload_failed", {{"error", error}, {"kept", "previous configuration"}});
    return;
  }
  take_effect(*rt, metrics_);
  // Keys read only at start: compared with what the process started with,
  // so every reload that differs says so, not only the first.
  std::string restart;
  auto differs = [&restart](bool changed, const char* key) {
    if (changed) restart += restart.empty() ? key : std::string(", ") + key;
  };
  differs(next.workers != initial_.workers, "workers");
  differs(next.cpu_affinity != initial_.cpu_affinity, "cpu_affinity");
  differs(next.io_uring != initial_.io_uring, "io_uring");
  differs(next.stats.enabled != initial_.stats.enabled, "stats.enabled");
  differs(!(next.stats.listen == initial_.stats.listen), "stats.listen");
  differs(next.user != initial_.user, "user");
  if (!restart.empty()) log::warn("reload_needs_restart", {{"keys", restart}});
  apply_settings(next);
  // reload_done is logged once every worker runs the new listener set.
  auto pending = std::make_shared<std::atomic<size_t>>(workers_.size());
  auto listeners = rt->listeners.size();
  for (size_t i = 0; i < workers_.size(); ++i) {
    auto b = std::make_shared<std::vector<Worker::Binding>>(std::move(bindings[i]));
    Worker* w = workers_[i].get();
    w->loop().post([this, w, b, pending, listeners] {
      w->apply(std::move(*b));
      if (pending->fetch_sub(1) == 1) {
        control_.post([listeners] { log::info("reload_done", {{"listeners", listeners}}); });
      }
    });
  }
  bound_.clear();
  for (const auto& lr : rt->listeners) bound_.push_back(lr->bind_address.to_string());
  runtime_ = rt;
  resolver_->watch(runtime_->upstreams);
  health_->watch(runtime_->upstreams, next.limits.connect_timeout);
}

void ProxyServer::begin_drain() {
  draining_ = true;
  uint64_t open = 0;
  for (auto& w : workers_) open += w->connections();
  log::info("draining",
            {{"connections", open},
             {"timeout_ms", static_cast<uint64_t>(runtime_->config.drain_timeout.count())}});
  for (auto& w : workers_) {
    Worker* wp = w.get();
    wp->loop().post([wp] { wp->drain(); });
  }
  drain_timer_ = std::make_unique<Ticker>(control_, [this] { drain_deadline(); });
  drain_timer_->at(static_cast<uint64_t>(runtime_->config.drain_timeout.count()));
}

void ProxyServer::drain_deadline() {
  for (auto& w : workers_) {
    Worker* wp = w.get();
    wp->loop().post([wp] { wp->close_all(CloseReason::drained); });
  }
}

}  // namespace ferry::proxy
