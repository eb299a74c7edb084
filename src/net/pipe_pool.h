// Pipes for splice(2), lent to a relay direction only while bytes are in
// flight. One pool per worker thread: no locks. An idle connection holds no
// pipe, so idle connections cost no extra file descriptors.
#pragma once

#include <cstddef>
#include <vector>

#include "net/fd.h"

namespace ferry::net {

struct Pipe {
  Fd read_end;
  Fd write_end;
};

class PipePool {
 public:
  // `capacity_bytes` is requested with F_SETPIPE_SZ (the kernel may round it);
  // at most `max_idle` pipes are kept for reuse, the rest are closed.
  explicit PipePool(size_t capacity_bytes = size_t{256} * 1024, size_t max_idle = 64);
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;
  ~PipePool();

  // nullptr when no pipe can be made (fd limit): the caller copies instead.
  Pipe* acquire();
  // The pipe must be empty.
  void release(Pipe* p);
  // A pipe that still holds bytes is closed rather than reused.
  void discard(Pipe* p);

  size_t capacity() const { return capacity_; }
  size_t idle() const { return idle_.size(); }
  size_t lent() const { return lent_; }

 private:
  size_t capacity_;
  size_t max_idle_;
  size_t lent_ = 0;
  std::vector<Pipe*> idle_;
};

}  // namespace ferry::net
