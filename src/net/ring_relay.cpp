#include "net/ring_relay.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace ferry::net {

RingRelay::RingRelay(Ring& ring, Owner& owner) : ring_(ring), owner_(owner) {
  up_.relay = down_.relay = this;
  up_.other = &down_;
  down_.other = &up_;
}

void RingRelay::start(int client_fd, int upstream_fd, std::string_view first_to_upstream) {
  up_.src = down_.dst = client_fd;
  up_.dst = down_.src = upstream_fd;
  up_.first = first_to_upstream;
  send_next(up_);
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
  switch (tag) {
    case kRecv:
      relay->on_recv(*this, res, flags);
      break;
    case kSend:
      relay->on_send(*this, res);
      break;
    default:
      break;
  }
  relay->owner_.on_ring_relay();
}

void RingRelay::Direction::on_buffer_available(uint8_t /*tag*/) {
  waiting_buffer = false;
  relay->arm_recv(*this);
}

void RingRelay::arm_recv(Direction& d) {
  if (d.recv_armed || d.eof || d.failed || aborted_ || handing_over_) return;
  if (d.queued() >= kMaxQueued) {
    d.recv_paused = true;  // on_send() re-arms once the sink drained
    return;
  }
  d.recv_paused = false;
  io_uring_sqe* s = ring_.sqe(&d, kRecv);
  io_uring_prep_recv_multishot(s, d.src, nullptr, 0, 0);
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
  if (res > 0) {
    auto id = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    if (aborted_) {
      ring_.give_back(id);
      return;
    }
    d.queue.push_back({id, static_cast<uint32_t>(res)});
    d.bytes += static_cast<uint64_t>(res);
    moved_ = true;
    if (static_cast<uint32_t>(res) == ring_.buffer_size()) bulk_ = true;
    send_next(d);
    if (d.queued() >= kMaxQueued && d.recv_armed) {
      ring_.cancel(&d, kRecv);  // backpressure: the sink is behind
      d.recv_paused = true;
    }
    if (!more) arm_recv(d);
    return;
  }
  if (aborted_) return;
  if (res == -ECANCELED) {
    // Stopped for backpressure; the sink may have drained meanwhile.
    if (d.recv_paused && d.drained()) arm_recv(d);
    return;
  }
  if (res == 0) {
    d.eof = true;
    maybe_shutdown(d);
  } else if (res == -ENOBUFS) {
    // The pool is empty: re-armed when a buffer comes back.
    if (!d.waiting_buffer) ring_.wait_for_buffer(&d, kRecv);
    d.waiting_buffer = true;
  } else {
    d.failed = true;  // reset, or worse
  }
}

void RingRelay::send_next(Direction& d) {
  if (d.sending || aborted_) return;
  const char* data = nullptr;
  size_t len = 0;
  if (!d.first.empty()) {
    data = d.first.data();
    len = d.first.size();
  } else if (d.head < d.queue.size()) {
    const Chunk& c = d.queue[d.head];
    data = ring_.buffer(c.id) + d.head_sent;
    len = c.length - d.head_sent;
  } else {
    return;
  }
  // MSG_WAITALL: the ring retries a short send itself, so a completion
  // normally means every byte was taken.
  io_uring_prep_send(ring_.sqe(&d, kSend), d.dst, data, len, MSG_NOSIGNAL | MSG_WAITALL);
  d.sending = true;
  ++ops_;
}

void RingRelay::on_send(Direction& d, int res) {
  --ops_;
  d.sending = false;
  if (res < 0) {
    if (!aborted_ && res != -ECANCELED) d.failed = true;
    drop_queue(d);  // the buffer being sent is no longer read by the kernel
    return;
  }
  auto sent = static_cast<uint32_t>(res);
  if (!d.first.empty()) {
    d.first.remove_prefix(std::min<size_t>(sent, d.first.size()));
  } else {
    d.head_sent += sent;
    const Chunk c = d.queue[d.head];
    if (d.head_sent >= c.length) {
      ring_.give_back(c.id);
      ++d.head;
      d.head_sent = 0;
      if (d.head == d.queue.size()) {
        std::vector<Chunk>().swap(d.queue);  // an idle connection keeps nothing
        d.head = 0;
      }
    }
  }
  if (aborted_) {
    drop_queue(d);
    return;
  }
  send_next(d);
  if (d.recv_paused && d.drained()) arm_recv(d);
  maybe_shutdown(d);
}

void RingRelay::maybe_shutdown(Direction& d) {
  if (!d.finished() || d.shut || aborted_ || handing_over_) return;
  // When the other direction is over too the owner closes the connection,
  // and close() sends this FIN: save the shutdown.
  if (d.other->finished()) return;
  // A system call, not a ring operation: the ring always hands shutdown to a
  // worker thread, which costs more than the call.
  if (::shutdown(d.dst, SHUT_WR) != 0 && errno != ENOTCONN) d.failed = true;
  d.shut = true;
}

void RingRelay::drop_queue(Direction& d) {
  // Never a buffer that a send in flight still reads: once reused it could
  // carry another connection's bytes. That one goes back on its completion.
  const bool head_in_flight = d.sending && d.first.empty();
  const size_t from = std::min<size_t>(d.head + (head_in_flight ? 1 : 0), d.queue.size());
  for (size_t i = from; i < d.queue.size(); ++i) ring_.give_back(d.queue[i].id);
  d.queue.resize(from);
  if (!d.sending) {
    std::vector<Chunk>().swap(d.queue);
    d.head = 0;
    d.first = {};
  }
}

void RingRelay::abort() {
  if (aborted_) return;
  aborted_ = true;
  for (Direction* d : {&up_, &down_}) {
    stop_waiting(*d);
    if (d->recv_armed) ring_.cancel(d, kRecv);
    if (d->sending) ring_.cancel(d, kSend);
    drop_queue(*d);
  }
}

void RingRelay::stop_waiting(Direction& d) {
  if (!d.waiting_buffer) return;
  ring_.stop_waiting(&d, kRecv);
  d.waiting_buffer = false;
}

bool RingRelay::hand_over() {
  if (handing_over_) return true;
  if (aborted_ || up_.eof || down_.eof || up_.failed || down_.failed) return false;
  handing_over_ = true;
  for (Direction* d : {&up_, &down_}) {
    stop_waiting(*d);
    if (d->recv_armed) ring_.cancel(d, kRecv);
  }
  return true;
}

}  // namespace ferry::net
