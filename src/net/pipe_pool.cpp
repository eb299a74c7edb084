#include "net/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

namespace ferry::net {

PipePool::PipePool(size_t capacity_bytes, size_t max_idle, size_t max_lent)
    : capacity_(capacity_bytes), max_idle_(max_idle), max_lent_(max_lent) {}

PipePool::~PipePool() {
  for (Pipe* p : idle_) delete p;
}

Pipe* PipePool::acquire() {
  if (lent_ >= max_lent_) return nullptr;
  if (!idle_.empty()) {
    Pipe* p = idle_.back();
    idle_.pop_back();
    ++lent_;
    return p;
  }
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return nullptr;
  auto* p = new Pipe{Fd(fds[0]), Fd(fds[1])};
  // Bigger than the 64 KiB default so a bulk stream moves more per syscall.
  // F_SETPIPE_SZ may fail past /proc/sys/fs/pipe-max-size: then keep the default.
  int got = ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(capacity_));
  if (got > 0 && static_cast<size_t>(got) < capacity_) capacity_ = static_cast<size_t>(got);
  ++lent_;
  return p;
}

void PipePool::release(Pipe* p) {
  --lent_;
  if (idle_.size() < max_idle_) {
    idle_.push_back(p);
  } else {
    delete p;
  }
}

void PipePool::discard(Pipe* p) {
  --lent_;
  delete p;
}

}  // namespace ferry::net
