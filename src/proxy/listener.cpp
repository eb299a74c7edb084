#include "proxy/listener.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "net/socket.h"
#include "proxy/connection.h"
#include "proxy/worker.h"

namespace ferry::proxy {
namespace {

// Accepts per readiness event; the listening socket is level-triggered, so
// whatever is left wakes us again after other connections had their turn.
constexpr int kAcceptBatch = 64;
constexpr uint64_t kPauseMs = 100;

}  // namespace

ListenerSocket::ListenerSocket(Worker& worker, std::shared_ptr<const ListenerRuntime> runtime,
                               net::Fd fd)
    : worker_(worker), runtime_(std::move(runtime)), fd_(std::move(fd)) {
  if (worker_.loop().ring() != nullptr) {
    peers_ = std::make_unique<std::array<net::SocketAddress, kRingAccepts>>();
    for (uint8_t slot = 0; slot < kRingAccepts; ++slot) arm_accept(slot);
  } else {
    worker_.loop().add(fd_.get(), EPOLLIN, this);
  }
}

ListenerSocket::~ListenerSocket() {
  close();
}

void ListenerSocket::close() {
  resume_.cancel();
  if (!fd_) return;
  if (peers_) {
    // Queued accepts hold the socket until they are cancelled; the ring
    // closes it after the cancels, so its number cannot be reused by
    // another socket while an accept queued for it is still unsubmitted.
    net::Ring& ring = *worker_.loop().ring();
    for (uint8_t slot = 0; slot < kRingAccepts; ++slot) {
      if ((armed_ & (1U << slot)) != 0) ring.cancel(this, slot);
    }
    io_uring_prep_close(ring.sqe(nullptr), fd_.release());
    return;
  }
  worker_.loop().remove(fd_.get());
  fd_.reset();
}

void ListenerSocket::retire() {
  close();
  retired_ = true;
  maybe_delete();
}

void ListenerSocket::maybe_delete() {
  if (!retired_ || armed_ != 0) return;
  retired_ = false;  // queue the deletion once
  worker_.loop().defer_delete(this);
}

void ListenerSocket::pause() {
  if (peers_) {
    paused_ = true;  // slots are re-armed by on_timer()
  } else {
    worker_.loop().modify(fd_.get(), 0, this);
  }
  worker_.loop().schedule_in(resume_, kPauseMs, this);
}

void ListenerSocket::on_timer() {
  if (!fd_) return;
  if (!peers_) {
    worker_.loop().modify(fd_.get(), EPOLLIN, this);
    return;
  }
  paused_ = false;
  for (uint8_t slot = 0; slot < kRingAccepts; ++slot) {
    if ((armed_ & (1U << slot)) == 0) arm_accept(slot);
  }
}

void ListenerSocket::arm_accept(uint8_t slot) {
  if (!fd_ || paused_) return;
  net::SocketAddress& peer = (*peers_)[slot];
  *peer.len_ptr() = sizeof(sockaddr_storage);
  io_uring_prep_accept(worker_.loop().ring()->sqe(this, slot), fd_.get(), peer.sa(), peer.len_ptr(),
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
  armed_ |= static_cast<uint8_t>(1U << slot);
}

void ListenerSocket::on_complete(int res, uint32_t /*flags*/, uint8_t slot) {
  armed_ &= static_cast<uint8_t>(~(1U << slot));
  if (!fd_) {  // closed meanwhile: a connection that raced the cancel is dropped
    if (res >= 0) ::close(res);
    maybe_delete();
    return;
  }
  if (res >= 0) {
    admit(net::Fd(res), (*peers_)[slot]);
  } else if (res != -ECANCELED) {
    if (accept_failed(-res)) return;  // paused: on_timer() re-arms
    if (res != -ECONNABORTED && res != -EINTR && res != -EAGAIN) {
      pause();  // an error that may stay: do not spin on it
      return;
    }
  }
  arm_accept(slot);
}

bool ListenerSocket::accept_failed(int err) {
  if (err == EAGAIN || err == EINTR || err == ECONNABORTED || !net::out_of_resources(err))
    return false;
  // Out of descriptors: stop accepting briefly instead of spinning.
  runtime_->metrics->per_worker[worker_.index()]->accept_failures.add();
  log::write_limited(log::Level::error, "accept_failed",
                     {{"listener", runtime_->config.name}, {"error", std::strerror(err)}});
  pause();
  return true;
}

void ListenerSocket::on_io(uint32_t) {
  for (int i = 0; i < kAcceptBatch && fd_; ++i) {
    net::SocketAddress peer;
    *peer.len_ptr() = sizeof(sockaddr_storage);
    int fd = ::accept4(fd_.get(), peer.sa(), peer.len_ptr(), SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      accept_failed(errno);
      return;
    }
    admit(net::Fd(fd), peer);
  }
}

void ListenerSocket::admit(net::Fd client, const net::SocketAddress& peer) {
  ListenerMetrics& m = *runtime_->metrics;
  ListenerCounters& c = *m.per_worker[worker_.index()];
  c.accepted.add();
  auto refuse = [&](Refusal why) {
    c.refused[static_cast<size_t>(why)].add();
    c.closed.add();
    c.closed_by[static_cast<size_t>(CloseReason::refused)].add();
    log::write_limited(log::Level::info, "connection_refused",
                       {{"listener", runtime_->config.name}, {"reason", refusal_name(why)}});
  };
  // Cheapest checks first, before a single byte is read from the client.
  SharedState& shared = worker_.shared();
  if (!try_acquire_slot(shared.metrics.active(),
                        shared.max_connections.load(std::memory_order_relaxed))) {
    refuse(Refusal::global_limit);
    return;
  }
  if (!try_acquire_slot(m.active, runtime_->config.max_connections)) {
    shared.metrics.active().fetch_sub(1, std::memory_order_relaxed);
    refuse(Refusal::listener_limit);
    return;
  }
  if (!runtime_->upstream->any_up()) {
    shared.metrics.active().fetch_sub(1, std::memory_order_relaxed);
    m.active.fetch_sub(1, std::memory_order_relaxed);
    refuse(Refusal::no_upstream);
    return;
  }
  auto* conn = new Connection(worker_, runtime_, std::move(client), peer);
  conn->start();
}

}  // namespace ferry::proxy
