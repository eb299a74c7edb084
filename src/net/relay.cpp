#include "net/relay.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

namespace ferry::net {
namespace {

// Most bytes one direction moves per call before yielding to other
// connections on the same worker.
constexpr size_t kBudget = size_t{1024} * 1024;

}  // namespace

Relay::~Relay() {
  if (scratch_ != nullptr) release(*scratch_);
}

void Relay::release(RelayScratch& scratch) {
  for (Direction* d : {&up_, &down_}) {
    if (d->pipe != nullptr) {
      if (d->in_pipe > 0) {
        scratch.pipes.discard(d->pipe);  // holds bytes nobody will read
      } else {
        scratch.pipes.release(d->pipe);
      }
      d->pipe = nullptr;
      d->in_pipe = 0;
    }
    d->pending = Pending{};
  }
}

void Relay::queue(Direction& d, std::string_view bytes) {
  if (bytes.empty()) return;
  Pending& p = d.pending;
  auto* data = new char[p.length + bytes.size()];
  if (p.length > 0) std::memcpy(data, p.data.get() + p.offset, p.length);
  std::memcpy(data + p.length, bytes.data(), bytes.size());
  p.data.reset(data);
  p.offset = 0;
  p.length += static_cast<uint32_t>(bytes.size());
}

bool Relay::send_or_keep(Direction& d, Endpoint& dst, const char* buf, size_t len) {
  while (len > 0) {
    IoResult r = dst.write(buf, len);
    if (r.status == IoStatus::ok) {
      buf += r.bytes;
      len -= r.bytes;
      continue;
    }
    if (r.status == IoStatus::would_block) {
      d.write_wants_read = r.wants_read;
      // Keep the rest. TLS needs a retry with the same bytes; plain does not
      // care. This is the only user-space buffer a relay ever holds.
      auto* data = new char[len];
      std::memcpy(data, buf, len);
      d.pending.data.reset(data);
      d.pending.offset = 0;
      d.pending.length = static_cast<uint32_t>(len);
      return false;
    }
    d.failed = true;
    return false;
  }
  return true;
}

bool Relay::flush(Direction& d, Endpoint& dst) {
  d.write_wants_read = false;
  while (d.pending.length > 0) {
    IoResult r = dst.write(d.pending.data.get() + d.pending.offset, d.pending.length);
    if (r.status == IoStatus::ok) {
      d.pending.offset += static_cast<uint32_t>(r.bytes);
      d.pending.length -= static_cast<uint32_t>(r.bytes);
      continue;
    }
    if (r.status == IoStatus::error) d.failed = true;
    d.write_wants_read = r.wants_read;
    return false;
  }
  if (d.pending.data) d.pending = Pending{};
  while (d.in_pipe > 0) {
    ssize_t n = ::splice(d.pipe->read_end.get(), nullptr, dst.fd(), nullptr, d.in_pipe,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      d.in_pipe -= static_cast<uint32_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return false;
    d.failed = true;
    return false;
  }
  return true;
}

void Relay::give_back_pipe(Direction& d, RelayScratch& scratch) {
  if (d.pipe != nullptr && d.in_pipe == 0) {
    scratch.pipes.release(d.pipe);
    d.pipe = nullptr;
  }
}

Relay::Pump Relay::finish(Direction& d, Endpoint& dst) {
  if (!d.shut) {
    // When the other direction is over too, the connection is closed right
    // away and close() sends the FIN (every byte the peer sent was read, so
    // it is a FIN, not a reset): save the shutdown(2). Not for TLS: a FIN
    // without close_notify looks like a truncation to the client.
    const Direction& other = &d == &up_ ? down_ : up_;
    if (!other.done() || !dst.plain()) dst.shutdown_write();
    d.shut = true;
  }
  return Pump::done;
}

Relay::Pump Relay::pump_splice(Direction& d, Endpoint& src, Endpoint& dst, RelayScratch& scratch,
                               size_t& moved) {
  if (d.pipe == nullptr) d.pipe = scratch.pipes.acquire();
  if (d.pipe == nullptr) {  // out of fds: fall back to copying
    d.bulk = false;
    return Pump::idle;
  }
  while (moved < kBudget) {
    ssize_t n = ::splice(src.fd(), nullptr, d.pipe->write_end.get(), nullptr,
                         scratch.pipes.capacity(), SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      d.in_pipe += static_cast<uint32_t>(n);
      d.bytes += static_cast<uint64_t>(n);
      moved += static_cast<size_t>(n);
      moved_ = true;
      if (!flush(d, dst)) return d.failed ? Pump::failed : Pump::blocked;
      continue;
    }
    if (n == 0) {
      give_back_pipe(d, scratch);
      d.eof = true;
      return finish(d, dst);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      give_back_pipe(d, scratch);
      return Pump::idle;
    }
    d.failed = true;
    return Pump::failed;
  }
  return Pump::budget;
}

Relay::Pump Relay::pump(Direction& d, Endpoint& src, Endpoint& dst, RelayScratch& scratch) {
  if (d.failed) return Pump::failed;
  if (!flush(d, dst)) return d.failed ? Pump::failed : Pump::blocked;
  give_back_pipe(d, scratch);
  if (d.eof) return finish(d, dst);

  d.read_wants_write = false;
  size_t moved = 0;
  const bool can_splice = src.plain() && dst.plain();
  while (moved < kBudget) {
    if (d.bulk && can_splice) {
      Pump p = pump_splice(d, src, dst, scratch, moved);
      if (d.bulk || p != Pump::idle) return p;
      continue;  // no pipe available: copy instead
    }
    IoResult r = src.read(scratch.buffer.get(), RelayScratch::kSize);
    if (r.status == IoStatus::ok) {
      d.bytes += r.bytes;
      moved += r.bytes;
      moved_ = true;
      if (!send_or_keep(d, dst, scratch.buffer.get(), r.bytes))
        return d.failed ? Pump::failed : Pump::blocked;
      if (can_splice) {
        if (r.bytes >= RelayScratch::kBulkRead) d.bulk = true;
        // A short read emptied the socket: the next byte brings a new edge.
        // Not so for a FIN that has arrived (maybe while the sink was full,
        // its only edge long gone): read on to see it.
        if (r.bytes < RelayScratch::kSize && !d.hup) return Pump::idle;
      }
      continue;  // TLS: records may still be buffered inside OpenSSL
    }
    if (r.status == IoStatus::would_block) {
      d.read_wants_write = r.wants_write;
      return Pump::idle;
    }
    if (r.status == IoStatus::eof) {
      d.eof = true;
      return finish(d, dst);
    }
    d.failed = true;
    return Pump::failed;
  }
  return Pump::budget;
}

Relay::State Relay::update_state() {
  if (up_.failed || down_.failed) {
    state_ = State::failed;
  } else if (up_.done() && down_.done()) {
    state_ = State::closed;
  } else if (up_.done() || down_.done()) {
    state_ = State::half_closed;
  } else {
    state_ = State::open;
  }
  return state_;
}

Relay::State Relay::on_events(const Events& ev, RelayScratch& scratch, bool& more) {
  scratch_ = &scratch;
  moved_ = false;
  more = false;
  // A direction needs work when its source has bytes, or its sink drained
  // what was stuck, or TLS asked for the opposite readiness.
  bool pump_up = ev.client_readable || (ev.upstream_writable && up_.blocked()) ||
                 (ev.client_writable && up_.read_wants_write) ||
                 (ev.upstream_readable && up_.write_wants_read);
  bool pump_down = ev.upstream_readable || (ev.client_writable && down_.blocked()) ||
                   (ev.upstream_writable && down_.read_wants_write) ||
                   (ev.client_readable && down_.write_wants_read);
  // A FIN gives one edge, which may come while its direction is blocked.
  up_.hup |= ev.client_hup;
  down_.hup |= ev.upstream_hup;
  if (pump_up && !up_.done()) more |= pump(up_, client_, upstream_, scratch) == Pump::budget;
  if (pump_down && !down_.done()) more |= pump(down_, upstream_, client_, scratch) == Pump::budget;
  return update_state();
}

}  // namespace ferry::net
