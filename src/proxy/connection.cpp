#include "proxy/connection.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <span>

#include "common/log.h"
#include "net/proxy_protocol.h"
#include "net/socket.h"
#include "proxy/worker.h"

namespace ferry::proxy {
namespace {

constexpr uint32_t kWatch = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
// A requeued connection gets this instead of real epoll events (we never ask
// epoll for EPOLLPRI, so it cannot come from there).
constexpr uint32_t kKick = EPOLLPRI;
// Failed connects in a row that mark a health-checked server down.
constexpr uint32_t kPassiveFall = 3;
// Addresses of one server tried for one connection before the next server:
// enough for an IPv6 and an IPv4 answer or two, and a bound on connect time.
constexpr uint32_t kAddressesPerServer = 4;

}  // namespace

Connection::Connection(Worker& worker, std::shared_ptr<const ListenerRuntime> listener,
                       net::Fd client, const net::SocketAddress& peer)
    : worker_(worker),
      listener_(std::move(listener)),
      client_(std::move(client)),
      client_addr_(peer.unmapped()),
      ring_(worker.loop().ring() != nullptr && !listener_->tls) {
  client_side_.owner = this;
  upstream_side_.owner = this;
  upstream_side_.upstream = true;
}

Connection::~Connection() = default;

uint64_t Connection::now() const {
  return worker_.loop().now_ms();
}

ListenerCounters& Connection::counters() {
  return *listener_->metrics->per_worker[worker_.index()];
}

void Connection::start() {
  worker_.attach(this);
  started_ms_ = now();  // (TCP_NODELAY comes from the listening socket)
  // On the ring only the PROXY header stage needs epoll's readiness.
  const bool watch_client = !ring_ || listener_->config.accept_proxy;
  if (watch_client && !worker_.loop().add(client_.fd(), kWatch, &client_side_)) {
    close(CloseReason::client_error);
    return;
  }
  if (listener_->config.accept_proxy) {
    stage_ = Stage::proxy_header;
    worker_.loop().schedule_in(
        timer_, static_cast<uint64_t>(listener_->limits.handshake_timeout.count()), this);
    read_proxy_header();
  } else {
    admit_client();
  }
}

void Connection::read_proxy_header() {
  namespace pp = net::proxy_protocol;
  char* buf = worker_.scratch().buffer.get();
  ssize_t n = ::recv(client_.fd(), buf, pp::kMaxHeaderSize, MSG_PEEK);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {  // closed or reset before saying who it is
    close(CloseReason::client_error);
    return;
  }
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(n));
  pp::ParseResult r = pp::parse(bytes);
  if (r.status == pp::Status::incomplete && static_cast<size_t>(n) >= pp::kMaxHeaderSize) {
    r.status = pp::Status::invalid;
    r.error = "header too long";
  }
  if (r.status == pp::Status::incomplete && client_hup_seen_) {
    r.status = pp::Status::invalid;  // the rest can never come: do not hold a slot for it
    r.error = "closed before the header ended";
  }
  if (r.status == pp::Status::incomplete) return;  // wait for the rest, under the timer
  if (r.status == pp::Status::invalid) {
    counters().proxy_header_errors.add();
    log::write_limited(log::Level::warn, "proxy_header_invalid",
                       {{"listener", listener_->config.name}, {"reason", r.error}});
    close(CloseReason::proxy_header);
    return;
  }
  // Consume exactly the header; the stream proper starts after it.
  if (::recv(client_.fd(), buf, r.consumed, 0) != static_cast<ssize_t>(r.consumed)) {
    close(CloseReason::client_error);
    return;
  }
  net::SocketAddress dest = net::local_address(client_.fd()).unmapped();
  if (!r.header.local && r.header.source && r.header.destination) {
    client_addr_ = r.header.source->unmapped();
    dest = r.header.destination->unmapped();
  }
  queue_upstream_header(dest);
  if (r.header.local) {
    // LOCAL is what a load balancer's health check sends. Dial the upstream
    // only if bytes follow, so checks every few seconds do not become
    // connections to the messenger's servers.
    stage_ = Stage::awaiting_data;
    await_first_byte();
    return;
  }
  admit_client();
}

void Connection::await_first_byte() {
  char byte = 0;
  ssize_t n = ::recv(client_.fd(), &byte, 1, MSG_PEEK);
  if (n > 0) {
    admit_client();
  } else if (n == 0) {
    close(CloseReason::done);  // a health check: nothing to relay
  } else if (errno != EAGAIN && errno != EINTR) {
    close(CloseReason::client_error);
  }
}

void Connection::queue_upstream_header(const net::SocketAddress& dest) {
  namespace pp = net::proxy_protocol;
  header_queued_ = true;
  switch (listener_->upstream->config().send_proxy) {
    case ProxyHeader::none:
      break;
    case ProxyHeader::v1:
      upstream_first_ = pp::build_v1(client_addr_, dest);
      break;
    case ProxyHeader::v2:
      upstream_first_ = pp::build_v2(client_addr_, dest);
      break;
  }
}

void Connection::refuse(Refusal why) {
  counters().refused[static_cast<size_t>(why)].add();
  log::write_limited(log::Level::info, "connection_refused",
                     {{"listener", listener_->config.name}, {"reason", refusal_name(why)}});
  close(CloseReason::refused);
}

void Connection::admit_client() {
  PerIpLimiter& per_ip = worker_.shared().per_ip;
  if (per_ip.enabled()) {
    switch (per_ip.enter(IpKey::from(client_addr_), now())) {
      case PerIpLimiter::Verdict::admitted:
        per_ip_entered_ = true;
        break;
      case PerIpLimiter::Verdict::too_many:
        refuse(Refusal::per_ip_limit);
        return;
      case PerIpLimiter::Verdict::too_fast:
        refuse(Refusal::per_ip_rate);
        return;
    }
  }
  if (listener_->tls) {
    start_tls();
  } else {
    connect_next();
  }
}

void Connection::start_tls() {
  SSL* ssl = SSL_new(listener_->tls.get());
  if (ssl == nullptr || SSL_set_fd(ssl, client_.fd()) != 1) {
    if (ssl != nullptr) SSL_free(ssl);
    close(CloseReason::client_error);
    return;
  }
  SSL_set_accept_state(ssl);
  client_.set_ssl(ssl);
  // One deadline for the whole handshake stage: armed by the PROXY header
  // stage if there was one, else now.
  if (!timer_.armed()) {
    worker_.loop().schedule_in(
        timer_, static_cast<uint64_t>(listener_->limits.handshake_timeout.count()), this);
  }
  stage_ = Stage::tls_handshake;
  continue_tls();
}

void Connection::continue_tls() {
  ERR_clear_error();
  int rc = SSL_do_handshake(client_.ssl());
  if (rc == 1) {
    counters().tls_handshakes.add();
    connect_next();
    return;
  }
  int err = SSL_get_error(client_.ssl(), rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
  counters().tls_handshake_failures.add();
  log::write_limited(log::Level::info, "tls_handshake_failed",
                     {{"listener", listener_->config.name}, {"error", net::tls::last_error()}});
  close(CloseReason::tls_handshake);
}

void Connection::upstream_failed(const char* why) {
  ServerMetrics& m = server_->metrics();
  m.connect_failures.fetch_add(1, std::memory_order_relaxed);
  uint32_t in_a_row = m.consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (m.checked.load(std::memory_order_relaxed) && in_a_row >= kPassiveFall)
    server_->mark(false, why);
  log::write_limited(
      log::Level::warn, "upstream_connect_failed",
      {{"upstream", server_->upstream()}, {"server", server_->label()}, {"error", why}});
  if (upstream_.open()) {
    if (!ring_) worker_.loop().remove(upstream_.fd());
    upstream_.close();
  }
}

void Connection::connect_next() {
  UpstreamState& up = *listener_->upstream;
  if (stage_ != Stage::connecting) {
    // The ring takes the client over from here (it watched only the header).
    if (ring_ && listener_->config.accept_proxy) worker_.loop().remove(client_.fd());
    stage_ = Stage::connecting;
    rr_start_ = up.next_start();
  }
  // Every address of a server (up to a few), then the next healthy server.
  for (;;) {
    if (server_ == nullptr) {
      server_ = up.candidate(rr_start_, attempt_);
      if (server_ == nullptr) break;
      addr_start_ = server_->next_rotation();
      addr_attempt_ = 0;
    }
    net::SocketAddress addr;
    if (addr_attempt_ >= kAddressesPerServer ||
        !server_->address_at(addr_start_, addr_attempt_++, addr)) {
      server_ = nullptr;
      continue;
    }
    const uint64_t timeout = static_cast<uint64_t>(listener_->limits.connect_timeout.count());
    net::Ring* ring = worker_.loop().ring();
    if (ring_ && ring->makes_sockets()) {
      // Socket, TCP_NODELAY and connect, all through the ring (on_complete).
      // The ring reads the address when it submits: it must outlive this call.
      dialled_ = std::make_unique<net::SocketAddress>(addr);
      io_uring_prep_socket(ring->sqe(this, kSocketOp), addr.family(),
                           SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP, 0);
      ring_op_ = kSocketOp;
      worker_.loop().schedule_in(timer_, timeout, this);
      return;
    }
    int err = 0;
    net::Fd fd = ring_ ? net::open_tcp(addr, err) : net::connect_tcp(addr, err);
    if (!fd && dial_failed(err)) return;
    if (!fd) continue;
    upstream_.set_fd(std::move(fd));
    if (ring_) {
      dialled_ = std::make_unique<net::SocketAddress>(addr);
      dial_in_ring();
    } else if (!worker_.loop().add(upstream_.fd(), kWatch, &upstream_side_)) {
      upstream_failed("epoll");
      continue;
    }
    worker_.loop().schedule_in(timer_, timeout, this);
    return;
  }
  log::write_limited(log::Level::warn, "upstream_unavailable",
                     {{"listener", listener_->config.name}, {"upstream", up.name()}});
  close(CloseReason::connect_failed);
}

void Connection::on_connect_result(uint32_t events) {
  // Writable without an error flag means connected: no getsockopt needed.
  int err = (events & (EPOLLERR | EPOLLHUP)) != 0 ? net::socket_error(upstream_.fd()) : 0;
  if (err == 0 && (events & EPOLLOUT) == 0) return;  // not decided yet
  if (err != 0 || (events & EPOLLHUP) != 0) {
    if (err == 0) err = ECONNREFUSED;
    upstream_failed(std::strerror(err));
    connect_next();
    return;
  }
  connected();
  start_relay(events);
}

bool Connection::dial_failed(int err) {
  if (net::out_of_resources(err)) {
    // Our shortage, not the server's fault: no server is marked down for it.
    log::write_limited(log::Level::error, "upstream_socket_failed",
                       {{"upstream", listener_->upstream->name()}, {"error", std::strerror(err)}});
    close(CloseReason::connect_failed);
    return true;
  }
  upstream_failed(std::strerror(err));
  return false;
}

void Connection::dial_in_ring() {
  net::Ring& ring = *worker_.loop().ring();
  if (ring.makes_sockets()) ring.prep_nodelay(upstream_.fd());  // issued before the connect
  io_uring_prep_connect(ring.sqe(this, kConnectOp), upstream_.fd(), dialled_->sa(),
                        dialled_->len());
  ring_op_ = kConnectOp;
}

void Connection::on_complete(int res, uint32_t /*flags*/, uint8_t tag) {
  ring_op_ = kNoOp;
  const bool timed_out = std::exchange(connect_timed_out_, false);
  if (stage_ == Stage::closed || (tag == kSocketOp && timed_out)) {
    if (tag == kSocketOp && res >= 0) ::close(res);  // made as we gave up
    if (stage_ == Stage::closed) {
      delete_when_idle();
      return;
    }
  }
  if (tag == kSocketOp && !timed_out) {
    if (res >= 0) {
      upstream_.set_fd(net::Fd(res));
      dial_in_ring();
    } else if (!dial_failed(-res)) {
      connect_next();
    }
    return;
  }
  if (res == 0 && tag == kConnectOp) {  // (a connect that beat its timer wins)
    connected();
    start_ring_relay();
    return;
  }
  if (timed_out) {
    upstream_failed("connect timeout");
  } else if (dial_failed(-res)) {
    return;  // no local port (EADDRNOTAVAIL) and the like: ours, as on epoll
  }
  connect_next();
}

void Connection::connected() {
  ServerMetrics& m = server_->metrics();
  m.connects.fetch_add(1, std::memory_order_relaxed);
  if (m.consecutive_failures.load(std::memory_order_relaxed) != 0)
    m.consecutive_failures.store(0, std::memory_order_relaxed);
}

void Connection::start_relay(uint32_t upstream_events) {
  stage_ = Stage::relaying;
  if (!header_queued_ && listener_->upstream->config().send_proxy != ProxyHeader::none)
    queue_upstream_header(net::local_address(client_.fd()).unmapped());
  relay_ = std::make_unique<net::Relay>(client_, upstream_);
  relay_->queue_to_upstream(upstream_first_);
  upstream_first_.clear();
  last_active_ms_ = now();
  arm_idle_timer();
  // Bytes the client sent meanwhile gave their edge already: read now. A FIN
  // seen before is remembered; the upstream's state came with its connect.
  net::Relay::Events ev;
  ev.client_readable = true;
  ev.client_writable = true;
  ev.client_hup = client_hup_seen_;
  ev.upstream_readable = (upstream_events & (EPOLLIN | EPOLLRDHUP)) != 0;
  ev.upstream_writable = true;
  ev.upstream_hup = (upstream_events & (EPOLLRDHUP | EPOLLHUP)) != 0;
  relay(ev);
}

void Connection::start_ring_relay() {
  stage_ = Stage::relaying;
  dialled_.reset();
  if (!header_queued_ && listener_->upstream->config().send_proxy != ProxyHeader::none)
    queue_upstream_header(net::local_address(client_.fd()).unmapped());
  last_active_ms_ = now();
  arm_idle_timer();
  ring_relay_ = std::make_unique<net::RingRelay>(*worker_.loop().ring(), *this);
  ring_relay_->start(client_.fd(), upstream_.fd(), upstream_first_);
}

void Connection::on_ring_relay() {
  if (stage_ == Stage::closed) {
    delete_when_idle();
    return;
  }
  if (ring_relay_->take_moved()) count_bytes();
  if (ring_relay_->handing_over()) {
    if (ring_relay_->state() == net::Relay::State::failed) {
      close(CloseReason::client_error);  // a reset stays a reset
    } else if (ring_relay_->quiescent()) {
      finish_hand_over();
    }
    return;
  }
  if (!follow(ring_relay_->state()) || relay_state_ != net::Relay::State::open) return;
  // Bulk moves to the epoll relay, which splices instead of copying twice.
  if (ring_relay_->bulk() && ring_relay_->hand_over() && ring_relay_->quiescent())
    finish_hand_over();
}

void Connection::finish_hand_over() {
  relay_ = std::make_unique<net::Relay>(client_, upstream_);
  relay_->queue_to_upstream(ring_relay_->take_unsent(true));
  relay_->queue_to_client(ring_relay_->take_unsent(false));
  if (!worker_.loop().add(client_.fd(), kWatch, &client_side_) ||
      !worker_.loop().add(upstream_.fd(), kWatch, &upstream_side_)) {
    close(CloseReason::client_error);
    return;
  }
  // Whatever arrived since the ring stopped reading is in the kernel.
  relay({true, true, true, true, false, false});
}

uint64_t Connection::bytes_up() const {
  return (relay_ ? relay_->bytes_up() : 0) + (ring_relay_ ? ring_relay_->bytes_up() : 0);
}

uint64_t Connection::bytes_down() const {
  return (relay_ ? relay_->bytes_down() : 0) + (ring_relay_ ? ring_relay_->bytes_down() : 0);
}

void Connection::count_bytes() {
  last_active_ms_ = now();
  ListenerCounters& c = counters();
  uint64_t up = bytes_up();
  uint64_t down = bytes_down();
  c.bytes_from_clients.add(up - counted_up_);
  c.bytes_to_clients.add(down - counted_down_);
  counted_up_ = up;
  counted_down_ = down;
}

void Connection::arm_idle_timer() {
  const LimitsConfig& lim = listener_->limits;
  Millis t = relay_state_ == net::Relay::State::half_closed ? lim.fin_timeout : lim.idle_timeout;
  worker_.loop().schedule(timer_, last_active_ms_ + static_cast<uint64_t>(t.count()), this);
}

void Connection::relay(const net::Relay::Events& ev) {
  bool more = false;
  net::Relay::State state = relay_->on_events(ev, worker_.scratch(), more);
  if (relay_->moved()) count_bytes();
  if (follow(state) && more) worker_.loop().requeue(&client_side_, kKick);
}

bool Connection::follow(net::Relay::State state) {
  const net::Relay::State before = std::exchange(relay_state_, state);
  switch (state) {
    case net::Relay::State::closed:
      close(CloseReason::done);
      return false;
    case net::Relay::State::failed:
      close(CloseReason::client_error);
      return false;
    case net::Relay::State::half_closed:
      if (before != state) {
        // fin_timeout runs from the half-close: a FIN moves no byte, and
        // the other side may have been quiet for longer than fin_timeout.
        last_active_ms_ = now();
        arm_idle_timer();
      }
      return true;
    case net::Relay::State::open:
      return true;
  }
  return true;
}

void Connection::on_io(bool upstream_side, uint32_t events) {
  // A FIN gives one edge; an early stage that does not read it must not lose it.
  if (!upstream_side && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 && events != kKick)
    client_hup_seen_ = true;
  switch (stage_) {
    case Stage::proxy_header:
      if (!upstream_side) read_proxy_header();
      return;
    case Stage::awaiting_data:
      if (!upstream_side) await_first_byte();
      return;
    case Stage::tls_handshake:
      if (!upstream_side) continue_tls();
      return;
    case Stage::connecting:
      // Client bytes wait in the kernel (or in OpenSSL) until the relay starts.
      if (upstream_side) on_connect_result(events);
      return;
    case Stage::relaying: {
      if (events == kKick) {
        relay({true, true, true, true, true, true});
        return;
      }
      constexpr uint32_t kIn = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
      constexpr uint32_t kOut = EPOLLOUT | EPOLLHUP | EPOLLERR;
      net::Relay::Events ev;
      constexpr uint32_t kHup = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
      if (upstream_side) {
        ev.upstream_readable = (events & kIn) != 0;
        ev.upstream_writable = (events & kOut) != 0;
        ev.upstream_hup = (events & kHup) != 0;
      } else {
        ev.client_readable = (events & kIn) != 0;
        ev.client_writable = (events & kOut) != 0;
        ev.client_hup = (events & kHup) != 0;
      }
      relay(ev);
      return;
    }
    case Stage::closed:
      return;
  }
}

void Connection::on_timer() {
  switch (stage_) {
    case Stage::proxy_header:
      counters().proxy_header_timeouts.add();
      close(CloseReason::handshake_timeout);
      return;
    case Stage::tls_handshake:
      // What a network that drops the ServerHello looks like: counted with
      // the other TLS failures, so the alert on them sees it.
      counters().tls_handshake_timeouts.add();
      close(CloseReason::handshake_timeout);
      return;
    case Stage::awaiting_data:  // a LOCAL header, then nothing
      close(CloseReason::handshake_timeout);
      return;
    case Stage::connecting:
      if (ring_op_ != kNoOp) {
        // The ring's operation must finish before the socket goes: on_complete.
        connect_timed_out_ = true;
        worker_.loop().ring()->cancel(this, ring_op_);
        return;
      }
      upstream_failed("connect timeout");
      connect_next();
      return;
    case Stage::relaying: {
      bool half = relay_state_ == net::Relay::State::half_closed;
      const LimitsConfig& lim = listener_->limits;
      auto limit = static_cast<uint64_t>((half ? lim.fin_timeout : lim.idle_timeout).count());
      if (now() - last_active_ms_ >= limit) {
        close(half ? CloseReason::fin_timeout : CloseReason::idle_timeout);
      } else {
        arm_idle_timer();  // there was traffic since: lazily move the deadline
      }
      return;
    }
    case Stage::closed:
      return;
  }
}

void Connection::close(CloseReason reason) {
  if (stage_ == Stage::closed) return;
  stage_ = Stage::closed;
  timer_.cancel();
  worker_.loop().unqueue(&client_side_);

  ListenerCounters& c = counters();
  c.closed.add();
  c.closed_by[static_cast<size_t>(reason)].add();
  if (log::enabled(log::Level::debug)) {
    std::string client = log::log_client_addresses() ? client_addr_.to_string() : "-";
    log::debug("connection_closed", {{"listener", listener_->config.name},
                                     {"reason", close_reason_name(reason)},
                                     {"client", client},
                                     {"ms", now() - started_ms_},
                                     {"bytes_up", bytes_up()},
                                     {"bytes_down", bytes_down()}});
  }

  if (relay_) relay_->release(worker_.scratch());
  if (ring_) {
    net::Ring& ring = *worker_.loop().ring();
    if (ring_relay_) ring_relay_->abort();
    if (ring_op_ != kNoOp) ring.cancel(this, ring_op_);
    // Queued after the cancels: the ring closes the sockets, saving two
    // system calls; operations still in flight keep them until cancelled.
    for (net::Endpoint* e : {&client_, &upstream_}) {
      if (e->open()) io_uring_prep_close(ring.sqe(nullptr), e->release_fd());
    }
  } else {
    client_.close();  // closing also removes the fds from epoll
    upstream_.close();
  }
  if (per_ip_entered_) worker_.shared().per_ip.leave(IpKey::from(client_addr_));
  listener_->metrics->active.fetch_sub(1, std::memory_order_relaxed);
  worker_.shared().metrics.active().fetch_sub(1, std::memory_order_relaxed);
  worker_.detach(this);
  delete_when_idle();
}

void Connection::delete_when_idle() {
  if (ring_op_ != kNoOp || (ring_relay_ && !ring_relay_->idle()) || delete_queued_) return;
  delete_queued_ = true;
  worker_.loop().defer_delete(this);
}

}  // namespace ferry::proxy
