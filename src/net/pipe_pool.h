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
  // Pipes lent at once, per pool: a reader that stalls a bulk download keeps
  // its pipe (and the bytes in it) until it reads, so without a cap hostile
  // clients could take two descriptors and 256 KiB of pinned pages each.
  static constexpr size_t kMaxLent = 256;

  // `capacity_bytes` is requested with F_SETPIPE_SZ (the kernel may round it);
  // at most `max_idle` pipes are kept for reuse, the rest are closed.
  explicit PipePool(size_t capacity_bytes = size_t{256} * 1024, size_t max_idle = 64,
                    size_t max_lent = kMaxLent);
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;
  ~PipePool();

  // nullptr when max_lent pipes are out or no pipe can be made (fd limit):
  // the caller copies instead.
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
  size_t max_lent_;
  size_t lent_ = 0;
  std::vector<Pipe*> idle_;
};

}  // namespace ferry::net
