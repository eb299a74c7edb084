#include "net/uring.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ferry::net {
namespace {

std::string failure(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err < 0 ? -err : err);
}

void* map_anonymous(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

// SOCKET_URING_OP_SETSOCKOPT (Linux 6.7); liburing 2.3 predates it.
constexpr uint32_t kSocketCmdSetsockopt = 3;
const int kOne = 1;

void fill_nodelay(io_uring_sqe* s, int fd) {
  // The fields of the socket command, by their place in the SQE: cmd_op
  // shares `off`, level and optname `addr`, optlen `splice_fd_in`, optval
  // `addr3` (include/uapi/linux/io_uring.h).
  s->opcode = IORING_OP_URING_CMD;
  s->fd = fd;
  s->off = kSocketCmdSetsockopt;
  s->addr = static_cast<uint64_t>(IPPROTO_TCP) | (static_cast<uint64_t>(TCP_NODELAY) << 32);
  s->splice_fd_in = sizeof kOne;
  s->addr3 = reinterpret_cast<uint64_t>(&kOne);
}

// Asks a throwaway ring once whether this kernel sets socket options.
bool kernel_sets_socket_options() {
  static const bool answer = [] {
    io_uring probe_ring{};
    if (io_uring_queue_init(2, &probe_ring, 0) < 0) return false;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = false;
    if (fd >= 0) {
      io_uring_sqe* s = io_uring_get_sqe(&probe_ring);
      std::memset(s, 0, sizeof *s);
      fill_nodelay(s, fd);
      io_uring_cqe* cqe = nullptr;
      if (io_uring_submit_and_wait(&probe_ring, 1) == 1 &&
          io_uring_peek_cqe(&probe_ring, &cqe) == 0) {
        int on = 0;
        socklen_t len = sizeof on;
        ok = cqe->res == 0 && ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0 && on;
      }
      ::close(fd);
    }
    io_uring_queue_exit(&probe_ring);
    return ok;
  }();
  return answer;
}

// The total byte limit of a multishot receive (Linux 6.17) shares the SQE's
// `splice_fd_in` (`optlen` in newer headers); older kernels refuse a receive
// that sets it, with -EINVAL.
void fill_multishot_limit(io_uring_sqe* s, uint32_t bytes) {
  s->splice_fd_in = static_cast<int32_t>(bytes);
}

// Asks a throwaway ring once whether a multishot receive with a limit of 4
// bytes ends by itself (no IORING_CQE_F_MORE) after 8 bytes arrive.
bool kernel_limits_multishot_receives() {
  static const bool answer = [] {
    constexpr unsigned kBuffers = 2;
    constexpr unsigned kBufferSize = 64;
    io_uring probe_ring{};
    if (io_uring_queue_init(4, &probe_ring, 0) < 0) return false;
    bool ok = false;
    int fds[2] = {-1, -1};
    const size_t ring_bytes = kBuffers * sizeof(io_uring_buf);
    auto* buf_ring = static_cast<io_uring_buf_ring*>(map_anonymous(ring_bytes));
    char buffers[kBuffers][kBufferSize];
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring);
    reg.ring_entries = kBuffers;
    reg.bgid = 1;
    if (buf_ring != nullptr && ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0 &&
        io_uring_register_buf_ring(&probe_ring, &reg, 0) == 0) {
      io_uring_buf_ring_init(buf_ring);
      const int mask = io_uring_buf_ring_mask(kBuffers);
      for (unsigned i = 0; i < kBuffers; ++i) {
        io_uring_buf_ring_add(buf_ring, buffers[i], kBufferSize, static_cast<uint16_t>(i), mask,
                              static_cast<int>(i));
      }
      io_uring_buf_ring_advance(buf_ring, kBuffers);
      io_uring_sqe* s = io_uring_get_sqe(&probe_ring);
      io_uring_prep_recv_multishot(s, fds[0], nullptr, 0, 0);
      s->flags |= IOSQE_BUFFER_SELECT;
      s->buf_group = 1;
      fill_multishot_limit(s, 4);
      io_uring_cqe* cqe = nullptr;
      if (::write(fds[1], "8 bytes!", 8) == 8 && io_uring_submit_and_wait(&probe_ring, 1) == 1 &&
          io_uring_peek_cqe(&probe_ring, &cqe) == 0) {
        ok = cqe->res == 8 && (cqe->flags & IORING_CQE_F_MORE) == 0;
      }
    }
    io_uring_queue_exit(&probe_ring);  // cancels the receive if it is still armed
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
    if (buf_ring != nullptr) ::munmap(buf_ring, ring_bytes);
    return ok;
  }();
  return answer;
}

// Operations the relay cannot do without; a kernel older than 6.1 lacks some.
bool supports_all(io_uring_probe* probe) {
  for (int op : {IORING_OP_ACCEPT, IORING_OP_CONNECT, IORING_OP_RECV, IORING_OP_SEND,
                 IORING_OP_CLOSE, IORING_OP_ASYNC_CANCEL, IORING_OP_POLL_ADD}) {
    if (io_uring_opcode_supported(probe, op) == 0) return false;
  }
  return true;
}

// user_data: the Completion's address, its low 3 bits (alignment) the tag.
uint64_t user_data(Completion* c, uint8_t tag) {
  return reinterpret_cast<uint64_t>(c) | tag;
}
Completion* completion_of(uint64_t data) {
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the kernel hands back what user_data() made
  return reinterpret_cast<Completion*>(data & ~uint64_t{Completion::kMaxTag});
}
uint8_t tag_of(uint64_t data) {
  return static_cast<uint8_t>(data & Completion::kMaxTag);
}

}  // namespace

std::unique_ptr<Ring> Ring::create(const Options& opts, std::string& error) {
  std::unique_ptr<Ring> r(new Ring(opts));
  io_uring_params p{};
  // DEFER_TASKRUN (6.1) runs completions' kernel work only when this thread
  // asks for completions: batched, and never interrupting it.
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
            IORING_SETUP_CQSIZE | IORING_SETUP_R_DISABLED;
  p.cq_entries = opts.entries * 8;
  int rc = io_uring_queue_init_params(opts.entries, &r->ring_, &p);
  if (rc < 0) {
    error = failure("io_uring_setup", rc);
    return nullptr;
  }
  r->queue_ready_ = true;
  if ((p.features & IORING_FEAT_EXT_ARG) == 0 || (p.features & IORING_FEAT_FAST_POLL) == 0) {
    error = "io_uring lacks EXT_ARG or FAST_POLL";
    return nullptr;
  }
  io_uring_probe* probe = io_uring_get_probe_ring(&r->ring_);
  bool ok = probe != nullptr && supports_all(probe);
  r->makes_sockets_ = ok && io_uring_opcode_supported(probe, IORING_OP_SOCKET) != 0 &&
                      io_uring_opcode_supported(probe, IORING_OP_URING_CMD) != 0 &&
                      kernel_sets_socket_options();
  r->limits_multishot_ = ok && kernel_limits_multishot_receives();
  if (probe != nullptr) io_uring_free_probe(probe);
  if (!ok) {
    error = "io_uring lacks an operation the relay needs";
    return nullptr;
  }

  // The buffer ring (entries the kernel takes buffers from) and the buffers.
  r->buf_ring_bytes_ = opts.buffers * sizeof(io_uring_buf);
  r->buf_ring_ = static_cast<io_uring_buf_ring*>(map_anonymous(r->buf_ring_bytes_));
  r->buffers_bytes_ = static_cast<size_t>(opts.buffers) * opts.buffer_size;
  r->buffers_ = static_cast<char*>(map_anonymous(r->buffers_bytes_));
  if (r->buf_ring_ == nullptr || r->buffers_ == nullptr) {
    error = failure("mmap", errno);
    return nullptr;
  }
  io_uring_buf_ring_init(r->buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(r->buf_ring_);
  reg.ring_entries = opts.buffers;
  reg.bgid = kBufferGroup;
  rc = io_uring_register_buf_ring(&r->ring_, &reg, 0);
  if (rc < 0) {
    error = failure("io_uring_register_buf_ring", rc);
    return nullptr;
  }
  r->buf_mask_ = io_uring_buf_ring_mask(opts.buffers);
  for (unsigned i = 0; i < opts.buffers; ++i) {
    io_uring_buf_ring_add(r->buf_ring_, r->buffer(static_cast<uint16_t>(i)), opts.buffer_size,
                          static_cast<uint16_t>(i), static_cast<int>(r->buf_mask_),
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(r->buf_ring_, static_cast<int>(opts.buffers));
  r->free_buffers_ = opts.buffers;
  return r;
}

Ring::~Ring() {
  if (queue_ready_) io_uring_queue_exit(&ring_);  // cancels and reaps what is left
  if (buffers_ != nullptr) ::munmap(buffers_, buffers_bytes_);
  if (buf_ring_ != nullptr) ::munmap(buf_ring_, buf_ring_bytes_);
}

bool Ring::enable() {
  if (enabled_) return true;
  // (liburing 2.3 declares io_uring_enable_rings but does not export it.)
  if (::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) <
      0)
    return false;
  // Saves an fd lookup on every io_uring_enter; optional.
  io_uring_register_ring_fd(&ring_);
  enabled_ = true;
  // What did not fit before, behind what did, in the order it was made.
  std::deque<io_uring_sqe> early;
  early.swap(early_);
  for (const io_uring_sqe& e : early) *next_sqe() = e;
  return true;
}

io_uring_sqe* Ring::next_sqe() {
  if (!enabled_) {
    // Nothing can be submitted yet: once the queue is full, keep it aside.
    io_uring_sqe* s = early_.empty() ? io_uring_get_sqe(&ring_) : nullptr;
    return s != nullptr ? s : &early_.emplace_back();
  }
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (s == nullptr) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
    if (s == nullptr) throw std::runtime_error("io_uring: submission queue full");
  }
  return s;
}

io_uring_sqe* Ring::sqe(Completion* c, uint8_t tag) {
  io_uring_sqe* s = next_sqe();
  // get_sqe hands back a used entry: every field is ours to clear.
  std::memset(s, 0, sizeof *s);
  io_uring_sqe_set_data64(s, c == nullptr ? 0 : user_data(c, tag));
  return s;
}

void Ring::prep_nodelay(int fd) {
  fill_nodelay(sqe(nullptr), fd);
}

void Ring::limit_multishot(io_uring_sqe* s, uint32_t bytes) const {
  if (limits_multishot_) fill_multishot_limit(s, bytes);
}

void Ring::cancel(Completion* c, uint8_t tag) {
  io_uring_prep_cancel64(sqe(nullptr), user_data(c, tag), IORING_ASYNC_CANCEL_ALL);
}

void Ring::wait(int timeout_ms) {
  if (timeout_ms == 0) {
    io_uring_submit_and_get_events(&ring_);
    return;
  }
  io_uring_cqe* cqe = nullptr;
  if (timeout_ms < 0) {
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, nullptr, nullptr);
    return;
  }
  __kernel_timespec ts{};
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1'000'000;
  io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
}

void Ring::dispatch() {
  // A handler may queue SQEs (never reap), so walking the CQ ring in place
  // is safe. A handler's SQE may submit (a full queue) and so add CQEs to
  // this walk: bounded by the CQ ring's size.
  unsigned head = 0;
  unsigned seen = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    uint64_t data = io_uring_cqe_get_data64(cqe);
    int res = cqe->res;
    uint32_t flags = cqe->flags;
    ++seen;
    if ((flags & IORING_CQE_F_BUFFER) != 0) --free_buffers_;
    Completion* c = completion_of(data);
    if (c != nullptr) c->on_complete(res, flags, tag_of(data));
  }
  io_uring_cq_advance(&ring_, seen);
  // Whoever saw -ENOBUFS in this batch may have done so after buffers came
  // back earlier in it: wake them now that the whole batch is in.
  wake_waiters();
}

void Ring::wake_waiters() {
  // Each woken waiter arms one receive, which takes at least one buffer:
  // as many waiters as buffers are free, not all of them for one buffer.
  for (unsigned budget = free_buffers_; budget > 0 && waiters_head_ < waiters_.size(); --budget) {
    uint64_t data = waiters_[waiters_head_++];
    completion_of(data)->on_buffer_available(tag_of(data));
  }
  if (waiters_head_ == waiters_.size()) {
    waiters_.clear();
    waiters_head_ = 0;
  }
}

void Ring::give_back(uint16_t id) {
  io_uring_buf_ring_add(buf_ring_, buffer(id), opts_.buffer_size, id, static_cast<int>(buf_mask_),
                        0);
  io_uring_buf_ring_advance(buf_ring_, 1);
  ++free_buffers_;
}

void Ring::wait_for_buffer(Completion* c, uint8_t tag) {
  waiters_.push_back(user_data(c, tag));
}

void Ring::stop_waiting(Completion* c, uint8_t tag) {
  // Rare (a connection closing while starved of buffers): a scan will do.
  uint64_t data = user_data(c, tag);
  for (size_t i = waiters_head_; i < waiters_.size(); ++i) {
    if (waiters_[i] == data) {
      waiters_.erase(waiters_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
}

}  // namespace ferry::net
