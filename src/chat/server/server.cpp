#include "chat/server/server.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "chat/proto/messages.h"
#include "chat/server/session.h"
#include "chat/wire/links.h"
#include "common/log.h"
#include "net/socket.h"

namespace ferry::chat::server {

// A listening socket; `proxy` listeners expect a PROXY header first.
class Listener final : public net::IoHandler {
 public:
  Listener(Server& server, net::Fd fd, bool proxy)
      : server_(server), fd_(std::move(fd)), proxy_(proxy) {}
  void on_io(uint32_t) override { server_.accept_from(*this); }
  int fd() const { return fd_.get(); }
  bool proxy() const { return proxy_; }
  bool paused = false;

 private:
  Server& server_;
  net::Fd fd_;
  bool proxy_;
};

// SIGTERM/SIGINT: drain and stop. SIGUSR1: log the counters.
class SignalWatcher final : public net::IoHandler {
 public:
  SignalWatcher(Server& server, net::Fd fd) : server_(server), fd_(std::move(fd)) {}
  void on_io(uint32_t) override {
    signalfd_siginfo info{};
    while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if (info.ssi_signo == SIGUSR1) {
        server_.log_stats();
      } else {
        log::info("chat_server_stopping", {{"signal", static_cast<int64_t>(info.ssi_signo)}});
        server_.request_stop();
      }
    }
  }
  int fd() const { return fd_.get(); }

 private:
  Server& server_;
  net::Fd fd_;
};

namespace {

constexpr uint64_t kHousekeepingMs = 100;

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  return set;
}

bool is_wildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::";
}

}  // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      ips_(options_.per_ip_connections, options_.per_ip_new_per_second,
           options_.registrations_per_hour),
      bundle_budget_(options_.bundles_per_hour),
      prekey_grants_(options_.one_time_prekeys_per_hour),
      read_buffer_(size_t{64} * 1024) {}

Server::~Server() {
  // Sessions first (they use the worker and the loop), then the worker.
  std::vector<Session*> all;
  for (auto& [id, s] : sessions_) all.push_back(s);
  for (Session* s : all) s->close(CloseReason::shutdown);
  if (worker_) worker_->stop();
  // Deliver the completions the worker posted, then free the closed sessions.
  loop_.run_once(0);
  housekeeping_.cancel();
  for (auto& l : listeners_) loop_.remove(l->fd());
  if (signals_) loop_.remove(signals_->fd());
}

void Server::block_signals() {
  sigset_t set = handled_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  (void)::signal(SIGPIPE, SIG_IGN);
}

bool Server::watch_signals(std::string& error) {
  sigset_t set = handled_signals();
  net::Fd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd) {
    error = std::string("signalfd: ") + std::strerror(errno);
    return false;
  }
  signals_ = std::make_unique<SignalWatcher>(*this, std::move(fd));
  loop_.add(signals_->fd(), EPOLLIN, signals_.get());
  return true;
}

bool Server::start(std::string& error) {
  route_protobuf_logs();
  if (options_.listen.empty() && options_.proxy_listen.empty()) {
    error = "nothing to listen on: give --listen and/or --proxy-listen";
    return false;
  }
  // One descriptor per client: take all the system allows, and say so if
  // that is fewer than the connection cap.
  rlimit fds{};
  if (::getrlimit(RLIMIT_NOFILE, &fds) == 0) {
    fds.rlim_cur = fds.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &fds);
    if (fds.rlim_cur < options_.max_connections + 64u)
      log::warn("chat_fd_limit_low", {{"limit", static_cast<uint64_t>(fds.rlim_cur)},
                                      {"max_connections", options_.max_connections}});
  }
  data_dir_ = DataDir::open(options_.data_dir, error);
  if (!data_dir_) return false;
  auto key = data_dir_->load_or_create_key(key_created_, error);
  if (!key) return false;
  static_key_ = std::move(*key);

  store_ =
      ServerStore::open(data_dir_->path("server.db"), options_.synchronous, options_.store, error);
  if (!store_) return false;
  checkpointer_ = Checkpointer::start(data_dir_->path("server.db"), error);
  if (!checkpointer_) return false;
  if (!open_listeners(error)) return false;

  // The link names the first listener clients can use directly, or the
  // public host with it.
  const auto& bound = bound_listen_.empty() ? bound_proxy_ : bound_listen_;
  const auto& first = options_.listen.empty() ? options_.proxy_listen[0] : options_.listen[0];
  std::string host = options_.public_host;
  if (host.empty()) host = is_wildcard(first.host) ? "127.0.0.1" : first.host;
  ServerLink link{net::HostPort{host, bound[0].port()},
                  std::string(reinterpret_cast<const char*>(static_key_.public_key.data()),
                              static_key_.public_key.size())};
  link_ = link.to_string();
  if (!data_dir_->write_link(link_, error)) return false;
  if (options_.public_host.empty() && is_wildcard(first.host))
    log::warn("chat_server_link_host",
              {{"note", "listening on a wildcard address; pass --public-host for the link"}});

  worker_ =
      std::make_unique<StoreWorker>(*store_, loop_, options_.max_batch, options_.commit_delay_us);
  worker_->set_after_batch([this] { after_batch(); });
  worker_->start();
  loop_.schedule_in(housekeeping_, kHousekeepingMs, this);
  return true;
}

bool Server::open_listeners(std::string& error) {
  auto open = [&](const std::vector<net::HostPort>& list, bool proxy,
                  std::vector<net::SocketAddress>& bound) {
    for (const auto& hp : list) {
      auto addr = net::SocketAddress::from_host_port(hp);
      if (!addr) {
        error = "listen address must be numeric: " + hp.to_string();
        return false;
      }
      net::ListenOptions lo;
      lo.dual_stack = true;
      net::Fd fd = net::listen_tcp(*addr, lo, error);
      if (!fd) return false;
      bound.push_back(net::local_address(fd.get()));
      auto l = std::make_unique<Listener>(*this, std::move(fd), proxy);
      loop_.add(l->fd(), EPOLLIN, l.get());
      log::info("chat_listener_started",
                {{"listen", bound.back().to_string()}, {"proxy_header", proxy}});
      listeners_.push_back(std::move(l));
    }
    return true;
  };
  return open(options_.listen, false, bound_listen_) &&
         open(options_.proxy_listen, true, bound_proxy_);
}

void Server::run() {
  while (!(draining_ && sessions_.empty() && (!worker_ || worker_->outstanding() == 0))) {
    loop_.run_once(-1);
  }
  log_stats();
}

void Server::request_stop() {
  if (stop_requested_.exchange(true)) return;
  loop_.post([this] { begin_drain(); });
}

void Server::begin_drain() {
  if (draining_) return;
  draining_ = true;
  drain_deadline_ms_ = loop_.now_ms() + static_cast<uint64_t>(options_.drain_timeout.count());
  for (auto& l : listeners_) loop_.remove(l->fd());
  listeners_.clear();
  // No new requests; what was asked is committed and answered, then closed.
  std::vector<Session*> all;
  for (auto& [id, s] : sessions_) all.push_back(s);
  for (Session* s : all) s->stop_reading();
  loop_.schedule_in(housekeeping_, 0, this);
}

void Server::on_timer() {
  uint64_t now = loop_.now_ms();
  if (draining_) {
    bool timed_out = now >= drain_deadline_ms_;
    std::vector<Session*> done;
    for (auto& [id, s] : sessions_)
      if (timed_out || s->idle_for_shutdown()) done.push_back(s);
    for (Session* s : done) s->close(CloseReason::shutdown);
    if (timed_out && worker_ && worker_->outstanding() > 0)
      log::warn("chat_server_drain_timeout", {{"outstanding", worker_->outstanding()}});
    if (timed_out && worker_) {
      // Completions can no longer be answered; stop waiting for them.
      worker_->stop();
      loop_.run_once(0);
    }
    loop_.schedule_in(housekeeping_, 20, this);
    return;
  }
  for (auto& l : listeners_) {
    if (l->paused) {  // after EMFILE: try again
      l->paused = false;
      loop_.add(l->fd(), EPOLLIN, l.get());
    }
  }
  if (now - last_sweep_ms_ > 5000) {
    ips_.sweep(now);
    bundle_budget_.sweep(now);
    prekey_grants_.sweep(now);
    last_sweep_ms_ = now;
  }
  after_batch();  // anything marked for flushing outside a store batch
  loop_.schedule_in(housekeeping_, kHousekeepingMs, this);
}

void Server::accept_from(Listener& listener) {
  for (int i = 0; i < 64; ++i) {
    net::SocketAddress peer;
    *peer.len_ptr() = sizeof(sockaddr_storage);
    int fd = ::accept4(listener.fd(), peer.sa(), peer.len_ptr(), SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // Out of descriptors: stop accepting for a moment instead of spinning.
      log::write_limited(log::Level::warn, "chat_accept_failed", {{"error", std::strerror(errno)}});
      loop_.remove(listener.fd());
      listener.paused = true;
      return;
    }
    net::Fd conn(fd);
    ++stats_.accepted;
    if (!listener.proxy()) ++stats_.accepted_direct;
    if (sessions_.size() >= options_.max_connections) {
      ++stats_.refused_max_connections;
      continue;  // conn closes
    }
    peer = peer.unmapped();
    if (!listener.proxy() && !admit(peer)) continue;
    net::set_nodelay(conn.get());
    uint64_t id = next_session_id_++;
    auto* s = new Session(*this, std::move(conn), id, peer, listener.proxy());
    sessions_.emplace(id, s);
    ++stats_.active;
    if (!s->start()) s->close(CloseReason::io_error, "epoll");
  }
}

bool Server::admit(const net::SocketAddress& peer) {
  switch (ips_.admit(peer.client_network(), loop_.now_ms())) {
    case IpTable::Verdict::ok:
      return true;
    case IpTable::Verdict::too_many:
      ++stats_.refused_per_ip;
      break;
    case IpTable::Verdict::too_fast:
      ++stats_.refused_per_ip_rate;
      break;
  }
  log::write_limited(log::Level::info, "chat_connection_refused", {{"reason", "per_ip_limit"}});
  return false;
}

bool Server::allow_registration(const net::SocketAddress& peer) {
  if (ips_.take_registration(peer.client_network(), loop_.now_ms())) return true;
  ++stats_.refused_registrations;
  log::write_limited(log::Level::info, "chat_registration_refused", {{"reason", "per_ip_rate"}});
  return false;
}

bool Server::allow_bundle_fetch(int64_t account) {
  if (bundle_budget_.take(account, loop_.now_ms())) return true;
  ++stats_.refused_bundles;
  log::write_limited(log::Level::info, "chat_bundle_refused", {{"reason", "per_account_rate"}});
  return false;
}

bool Server::grant_one_time_prekey(int64_t fetcher, std::string_view target) {
  std::string key = std::to_string(fetcher);
  key += '/';
  key += target;
  return prekey_grants_.take(key, loop_.now_ms());
}

void Server::release(const net::SocketAddress& peer) {
  ips_.release(peer.client_network(), loop_.now_ms());
}

Session* Server::find_session(uint64_t id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() || it->second->closed() ? nullptr : it->second;
}

void Server::on_session_closed(Session* session) {
  sessions_.erase(session->id());
  --stats_.active;
  loop_.defer_delete(session);
}

void Server::after_batch() {
  // One write per session per batch, however many answers it got.
  std::vector<uint64_t> ids;
  ids.swap(dirty_);
  for (uint64_t id : ids)
    if (Session* s = find_session(id)) s->flush();
}

void Server::log_stats() {
  std::string line = stats_.to_logfmt();
  if (worker_) {
    const auto& w = worker_->stats();
    line += " store_batches=" + std::to_string(w.batches.load()) +
            " store_ops=" + std::to_string(w.ops.load()) +
            " store_failed_batches=" + std::to_string(w.failed_batches.load());
  }
  line += " online=" + std::to_string(router_.online());
  log::info("chat_server_stats", {{"counters", line}});
}

}  // namespace ferry::chat::server
