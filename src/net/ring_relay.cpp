#include "net/ring_relay.h"

#include <sys/socket.h>

#include <cerrno>

namespace ferry::net {

RingRelay::RingRelay(Ring& ring, Owner& owner) : ring_(ring), owner_(owner) {
  up_.relay = down_.relay = this;
}

void RingRelay::start(int client_fd, int upstream_fd, std::string_view first_to_upstream) {
  up_.src = down_.dst = client_fd;
  up_.dst = down_.src = upstream_fd;
  if (!first_to_upstream.empty()) up_.waiting_bytes().assign(first_to_upstream);
  send_waiting(up_);
  arm_recv(up_);
  arm_recv(down_);
}

RingRelay::State RingRelay::state() const {
  if (up_.failed || down_.failed) return State::failed;
  if (up_.finished() && down_.finished()) return State::closed;
  if (up_.finished() || down_.finished()) return State::half_closed;
  return State::open;
}

void RingRelay::Direction::on_complete(int res, uint32_t flags, uint8_t tag) {
  if (tag == kRecv) {
    relay->on_recv(*this, res, flags);
  } else {
    relay->on_send(*this, res, static_cast<Tag>(tag));
  }
  relay->owner_.on_ring_relay();
}

void RingRelay::Direction::on_buffer_available(uint8_t /*tag*/) {
  waiting_buffer = false;
  relay->arm_recv(*this);
}

void RingRelay::arm_recv(Direction& d) {
  if (d.recv_armed || d.eof || d.failed || aborted_ || handing_over_) return;
  if (d.waiting() >= kMaxWaiting) {
    d.recv_paused = true;  // on_send() re-arms once the sink drained
    return;
  }
  d.recv_paused = false;
  stop_waiting(d);  // it may have been woken another way
  // While the sink is behind, one buffer per receive, so what the relay
  // takes in stays within kMaxWaiting plus one buffer; else multishot. A
  // send from a pool buffer is not "behind": it ends within this submit.
  d.recv_multishot = !d.behind();
  io_uring_sqe* s = ring_.sqe(&d, kRecv);
  if (d.recv_multishot) {
    io_uring_prep_recv_multishot(s, d.src, nullptr, 0, 0);
    // It ends by itself after kMaxWaiting bytes (then re-armed below), so a
    // long socket queue cannot pour more than that in before a cancel.
    ring_.limit_multishot(s, static_cast<uint32_t>(kMaxWaiting));
  } else {
    io_uring_prep_recv(s, d.src, nullptr, ring_.buffer_size(), 0);
  }
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = Ring::kBufferGroup;
  d.recv_armed = true;
  ++ops_;
}

void RingRelay::on_recv(Direction& d, int res, uint32_t flags) {
  const bool more = (flags & IORING_CQE_F_MORE) != 0;
  if (!more) {
    d.recv_armed = false;
    --ops_;
  }
  const auto id = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
  if (res <= 0 && (flags & IORING_CQE_F_BUFFER) != 0) ring_.give_back(id);  // (io-wq may)
  if (res > 0) {
    auto length = static_cast<uint32_t>(res);
    if (aborted_) {
      ring_.give_back(id);
      return;
    }
    d.bytes += length;
    moved_ = true;
    if (length == ring_.buffer_size()) bulk_ = true;
    if (!d.sending && d.waiting() == 0 && !handing_over_) {
      // Fast path: straight out of the pool buffer, never waiting for room.
      io_uring_prep_send(ring_.sqe(&d, kSendPool), d.dst, ring_.buffer(id), length,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      d.pool_id = id;
      d.pool_length = length;
      d.sending = true;
      d.sending_heap = false;
      ++ops_;
    } else {
      d.waiting_bytes().append(ring_.buffer(id), length);
      ring_.give_back(id);
      // Behind a send that may wait for room, or too much waiting: the
      // multishot receive would keep taking buffers until cancelled, so it
      // makes way for one receive at a time. (Behind a send from a pool
      // buffer, which ends within this submit, it goes on.)
      if (d.recv_armed && d.recv_multishot && !handing_over_ &&
          ((d.sending && d.sending_heap) || d.waiting() >= kMaxWaiting)) {
        ring_.cancel(&d, kRecv);
        d.recv_multishot = false;  // cancelled once
      }
    }
    if (!more) arm_recv(d);
    return;
  }
  if (aborted_) return;
  if (res == -ECANCELED) {
    arm_recv(d);  // made way for single receives (the sink is behind)
    return;
  }
  if (res == 0) {
    d.eof = true;
    maybe_shutdown(d);
  } else if (res == -ENOBUFS) {
    // The pool is empty for a moment: re-armed when a buffer comes back.
    if (!d.waiting_buffer && !handing_over_) {
      ring_.wait_for_buffer(&d, kRecv);
      d.waiting_buffer = true;
    }
  } else {
    d.failed = true;  // reset, or worse
  }
}

void RingRelay::send_waiting(Direction& d) {
  if (d.sending || d.waiting() == 0 || aborted_ || handing_over_) return;
  Direction::Backlog& b = *d.backlog;
  b.in_flight.swap(b.waiting);
  // A send that waits for room: MSG_WAITALL makes the ring retry until every
  // byte is taken, so one completion ends it.
  io_uring_prep_send(ring_.sqe(&d, kSendHeap), d.dst, b.in_flight.data(), b.in_flight.size(),
                     MSG_NOSIGNAL | MSG_WAITALL);
  d.sending = true;
  d.sending_heap = true;
  ++ops_;
}

void RingRelay::on_send(Direction& d, int res, Tag tag) {
  --ops_;
  d.sending = false;
  // A cancelled send (a hand-over) reports what it sent before, if anything.
  const size_t sent = res > 0 ? static_cast<size_t>(res) : 0;
  if (res < 0 && res != -EAGAIN && res != -ECANCELED && !aborted_) d.failed = true;
  std::string rest;  // what the sink did not take, ahead of anything waiting
  if (tag == kSendPool) {
    if (sent < d.pool_length) rest.assign(ring_.buffer(d.pool_id) + sent, d.pool_length - sent);
    ring_.give_back(d.pool_id);  // the kernel is done reading it
  } else {
    std::string& in_flight = d.backlog->in_flight;
    if (sent < in_flight.size()) rest.assign(in_flight, sent);
    std::string().swap(in_flight);
  }
  if (aborted_ || d.failed) {
    d.backlog.reset();
    return;
  }
  if (!rest.empty()) {
    d.waiting_bytes().insert(0, rest);
    // The sink is full: from here on one receive at a time (see on_recv).
    if (d.recv_armed && d.recv_multishot && !handing_over_) {
      ring_.cancel(&d, kRecv);
      d.recv_multishot = false;
    }
  }
  if (handing_over_) return;  // what is left goes to the epoll relay
  send_waiting(d);
  if (!d.sending) d.backlog.reset();  // drained: an idle direction keeps nothing
  if (d.recv_paused && d.waiting() < kMaxWaiting) arm_recv(d);
  maybe_shutdown(d);
}

void RingRelay::maybe_shutdown(Direction& d) {
  if (!d.finished() || d.shut || aborted_ || handing_over_) return;
  // When the other direction is over too the owner closes the connection,
  // and close() sends this FIN: save the shutdown.
  if (other(d).finished()) return;
  // A system call, not a ring operation: the ring always hands shutdown to a
  // worker thread, which costs more than the call.
  if (::shutdown(d.dst, SHUT_WR) != 0 && errno != ENOTCONN) d.failed = true;
  d.shut = true;
}

void RingRelay::stop_waiting(Direction& d) {
  if (!d.waiting_buffer) return;
  ring_.stop_waiting(&d, kRecv);
  d.waiting_buffer = false;
}

void RingRelay::abort() {
  if (aborted_) return;
  aborted_ = true;
  for (Direction* d : {&up_, &down_}) {
    stop_waiting(*d);
    if (d->recv_armed) ring_.cancel(d, kRecv);
    // A send in flight still reads its pool buffer or heap bytes: they are
    // let go in on_send(), never before (a reused pool buffer could carry
    // another connection's bytes).
    if (d->sending) ring_.cancel(d, d->sending_heap ? kSendHeap : kSendPool);
    if (d->backlog) std::string().swap(d->backlog->waiting);
  }
}

bool RingRelay::hand_over() {
  if (handing_over_) return true;
  if (aborted_ || up_.eof || down_.eof || up_.failed || down_.failed) return false;
  handing_over_ = true;
  for (Direction* d : {&up_, &down_}) {
    stop_waiting(*d);
    if (d->recv_armed) ring_.cancel(d, kRecv);
    // A send that waits for a full sink would hold the other direction up
    // until that peer reads: take its bytes back (on_send keeps the rest).
    if (d->sending && d->sending_heap) ring_.cancel(d, kSendHeap);
  }
  return true;
}

size_t RingRelay::held() const {
  size_t bytes = 0;
  for (const Direction* d : {&up_, &down_}) {
    if (d->backlog) bytes += d->backlog->in_flight.size() + d->backlog->waiting.size();
  }
  return bytes;
}

std::string RingRelay::take_unsent(bool to_upstream) {
  Direction& d = to_upstream ? up_ : down_;
  std::string bytes = d.backlog ? std::move(d.backlog->waiting) : std::string();
  d.backlog.reset();
  return bytes;
}

}  // namespace ferry::net
