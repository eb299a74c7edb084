// The relay on io_uring, for plain <-> plain connections (no TLS on either
// side): the same job as Relay (byte-exact, both ways, half-close passed on,
// bounded memory), with no system call of its own per message.
//
// Per direction: one multishot receive on the source, which takes a buffer
// from the worker's pool for each arrival, and one send at a time on the
// sink, in order:
//   - fast path: the bytes go out of the pool buffer itself with a send that
//     never waits (MSG_DONTWAIT); the buffer is back in the pool one loop
//     iteration after it was filled.
//   - a sink that is full (or a send still in flight) makes the relay copy
//     what is left into this direction's own heap bytes and give the pool
//     buffer back at once, so no number of stalled connections can drain the
//     pool others need. Those bytes go out with a send that waits. Until the
//     direction has drained, the source is read one buffer at a time (the
//     multishot receive is cancelled), and not at all beyond kMaxWaiting
//     (backpressure). What a multishot receive took before its cancel was
//     submitted is kept too; each multishot receive ends by itself after
//     kMaxWaiting bytes (Ring::limit_multishot), so what waits stays within
//     kMaxWaiting plus one buffer. (Before Linux 6.17 there is no such limit:
//     on a long socket queue the kernel may fill up to 32 buffers in one go.)
// An idle connection holds no buffer at all.
//
// Bulk: a receive that fills a whole pool buffer marks the relay bulk. Its
// owner may then hand the sockets to the epoll Relay, which splices (zero
// copy): hand_over() cancels the receives and any send that waits for room,
// and reports quiescent() once nothing is in flight; take_unsent() then
// gives what was received and not yet sent, for the epoll Relay to send
// first. Neither direction waits for the other's sink. Bytes still in the
// kernel stay there for the next reader, and a FIN already seen is seen
// again (TCP repeats it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "net/relay.h"
#include "net/uring.h"

namespace ferry::net {

class RingRelay {
 public:
  class Owner {
   public:
    // Bytes moved, a direction ended, it failed, or an operation finished:
    // look at state(), take_moved(), idle(), quiescent().
    virtual void on_ring_relay() = 0;

   protected:
    ~Owner() = default;
  };

  using State = Relay::State;  // the same four states as the epoll relay

  // Heap bytes one direction keeps for a slow sink before it stops reading
  // the source (the epoll relay's bound: one 64 KiB read).
  static constexpr size_t kMaxWaiting = size_t{64} * 1024;

  RingRelay(Ring& ring, Owner& owner);
  RingRelay(const RingRelay&) = delete;
  RingRelay& operator=(const RingRelay&) = delete;

  // `first_to_upstream` (a PROXY header) goes out before any client byte.
  void start(int client_fd, int upstream_fd, std::string_view first_to_upstream);
  // Stops everything (the connection is closing). The owner must keep this
  // object until idle(); the sockets may be closed right away.
  void abort();
  // Stops receiving so the epoll Relay can take over; see the header. Not
  // once a direction has ended (false): such a relay finishes on the ring.
  bool hand_over();

  State state() const;
  bool bulk() const { return bulk_; }
  bool handing_over() const { return handing_over_; }
  // No operation in flight: safe to destroy.
  bool idle() const { return ops_ == 0; }
  // Handing over and nothing in flight: the epoll Relay may start, sending
  // take_unsent() of each direction before anything else.
  bool quiescent() const { return handing_over_ && ops_ == 0; }
  std::string take_unsent(bool to_upstream);
  // Heap bytes both directions hold for their sinks (sent or waiting).
  size_t held() const;
  // True if a byte moved since the last call (idle-timeout bookkeeping).
  bool take_moved() { return std::exchange(moved_, false); }
  uint64_t bytes_up() const { return up_.bytes; }
  uint64_t bytes_down() const { return down_.bytes; }

 private:
  // Operation tags (Ring::sqe): which of a direction's operations completed.
  enum Tag : uint8_t { kRecv = 0, kSendPool = 1, kSendHeap = 2 };
  struct Direction final : Completion {
    // Heap bytes, only while the sink is behind: an idle direction has none.
    struct Backlog {
      std::string in_flight;  // what the send in flight reads (kSendHeap)
      std::string waiting;    // bytes for the sink that wait their turn
    };
    RingRelay* relay = nullptr;
    int src = -1;
    int dst = -1;
    uint64_t bytes = 0;
    std::unique_ptr<Backlog> backlog;
    uint32_t pool_length = 0;  // bytes of the pool buffer the send in flight reads
    uint16_t pool_id = 0;      // (kSendPool)
    bool recv_armed : 1 = false;
    bool recv_multishot : 1 = false;  // the armed receive is multishot
    bool recv_paused : 1 = false;     // not armed: kMaxWaiting bytes wait
    bool waiting_buffer : 1 = false;
    bool sending : 1 = false;
    bool sending_heap : 1 = false;  // the send in flight reads the backlog
    bool eof : 1 = false;
    bool shut : 1 = false;
    bool failed : 1 = false;
    size_t waiting() const { return backlog ? backlog->waiting.size() : 0; }
    std::string& waiting_bytes() {
      if (!backlog) backlog = std::make_unique<Backlog>();
      return backlog->waiting;
    }
    bool drained() const { return !sending && waiting() == 0; }
    // Bytes wait on the heap, or a send that may wait for room is in flight.
    bool behind() const { return (sending && sending_heap) || waiting() > 0; }
    bool finished() const { return eof && drained(); }
    void on_complete(int res, uint32_t flags, uint8_t tag) override;
    void on_buffer_available(uint8_t /*tag*/) override;
  };

  void on_recv(Direction& d, int res, uint32_t flags);
  void on_send(Direction& d, int res, Tag tag);
  void arm_recv(Direction& d);
  void send_waiting(Direction& d);
  void maybe_shutdown(Direction& d);
  void stop_waiting(Direction& d);
  Direction& other(const Direction& d) { return &d == &up_ ? down_ : up_; }

  Ring& ring_;
  Owner& owner_;
  Direction up_;    // client -> upstream
  Direction down_;  // upstream -> client
  uint32_t ops_ = 0;
  bool bulk_ = false;
  bool aborted_ = false;
  bool handing_over_ = false;
  bool moved_ = false;
};

}  // namespace ferry::net
