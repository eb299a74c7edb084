// io_uring for one event loop: the relay's hot path without a system call per
// operation. On this kind of machine (PTI without PCID) every system call
// costs about 1 us, a third of what relaying one small message costs, so the
// ring batches accepts, connects, receives and sends into one io_uring_enter
// per loop iteration.
//
// A ring belongs to one thread (IORING_SETUP_SINGLE_ISSUER, DEFER_TASKRUN: the
// kernel does the work when that thread asks for completions, never behind
// its back). Each operation's user_data is the Completion that handles it
// plus a 3-bit tag (which of its operations); that object must stay alive
// until its last completion (flags without IORING_CQE_F_MORE) arrived, which
// cancel() hastens.
//
// Receives pick a buffer from one pool of provided buffers (a buffer ring):
// an idle connection holds none, and a buffer goes back to the pool as soon
// as its bytes were sent on.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace ferry::net {

class Completion {
 public:
  static constexpr uint8_t kMaxTag = 7;
  // `res` and `flags` are the CQE's; `tag` the one given to Ring::sqe().
  virtual void on_complete(int res, uint32_t flags, uint8_t tag) = 0;
  // A receive of this tag ended with -ENOBUFS and asked to wait: a pooled
  // buffer is free again.
  virtual void on_buffer_available(uint8_t /*tag*/) {}

 protected:
  ~Completion() = default;
};

class Ring {
 public:
  struct Options {
    unsigned entries = 1024;       // submission queue; completions get 8x
    unsigned buffers = 1024;       // pooled receive buffers (a power of two)
    unsigned buffer_size = 16384;  // bytes each; a full one means bulk traffic
  };

  // nullptr with `error` set when this kernel (or a seccomp profile, as in
  // Docker's default) does not give us what the relay needs. The ring starts
  // disabled: enable() on the thread that will use it.
  static std::unique_ptr<Ring> create(const Options& opts, std::string& error);
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();

  // Makes the calling thread the ring's only submitter. Idempotent.
  bool enable();

  // True when sockets can be made and given TCP_NODELAY through the ring
  // (IORING_OP_SOCKET, and the socket setsockopt command of Linux 6.7).
  bool makes_sockets() const { return makes_sockets_; }
  // Queues setsockopt(fd, TCP_NODELAY, 1); makes_sockets() must hold.
  void prep_nodelay(int fd);

  // True when a multishot receive can be told to end by itself after some
  // bytes (Linux 6.17); without it, a multishot receive on a long socket
  // queue takes up to 32 buffers before a cancel can stop it.
  bool limits_multishot() const { return limits_multishot_; }
  // Makes the multishot receive in `s` end (without IORING_CQE_F_MORE) once
  // it has received `bytes` or more; nothing when !limits_multishot().
  void limit_multishot(io_uring_sqe* s, uint32_t bytes) const;

  // A cleared SQE whose completion goes to `c` with `tag` (nullptr: nobody
  // cares). When the queue is full it is submitted first; before enable()
  // (when nothing can be submitted yet) it is kept aside and queued by
  // enable(): never fails.
  io_uring_sqe* sqe(Completion* c, uint8_t tag = 0);
  // Cancels every operation whose completion goes to (`c`, `tag`).
  void cancel(Completion* c, uint8_t tag = 0);

  // Submits what is queued and waits up to `timeout_ms` (-1: no limit) for
  // at least one completion; then dispatch() hands them out.
  void wait(int timeout_ms);
  void dispatch();

  // Provided buffers.
  static constexpr uint16_t kBufferGroup = 0;
  uint32_t buffer_size() const { return opts_.buffer_size; }
  char* buffer(uint16_t id) { return buffers_ + static_cast<size_t>(id) * opts_.buffer_size; }
  void give_back(uint16_t id);
  // Pool buffers not lent out: the kernel may still answer -ENOBUFS for a
  // moment after this turns positive, so waiters are woken by dispatch().
  unsigned free_buffers() const { return free_buffers_; }
  // First come, first served; stop_waiting() when it no longer wants one.
  void wait_for_buffer(Completion* c, uint8_t tag);
  void stop_waiting(Completion* c, uint8_t tag);

 private:
  explicit Ring(const Options& opts) : opts_(opts) {}

  Options opts_;
  io_uring ring_{};
  bool queue_ready_ = false;
  bool enabled_ = false;
  bool makes_sockets_ = false;
  bool limits_multishot_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  char* buffers_ = nullptr;
  size_t buffers_bytes_ = 0;
  unsigned buf_mask_ = 0;
  void wake_waiters();
  // A free SQE of the queue, submitting to make room; once the queue is full
  // before enable(), one from early_.
  io_uring_sqe* next_sqe();

  // SQEs made before enable() beyond what the queue holds (a deque: the
  // callers fill them in after sqe() returned).
  std::deque<io_uring_sqe> early_;

  std::vector<uint64_t> waiters_;  // user_data of who waits, oldest first
  size_t waiters_head_ = 0;
  unsigned free_buffers_ = 0;
};

}  // namespace ferry::net
