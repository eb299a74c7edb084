// SIGINT/SIGTERM as a readable file descriptor, so an epoll loop notices a
// stop request between batches instead of dying mid-report. Also ignores
// SIGPIPE: a peer that closes early is an error to count, not a crash.
#pragma once

#include "net/fd.h"

namespace ferry::bench {

class StopSignal {
 public:
  StopSignal();  // blocks SIGINT/SIGTERM in this thread (call before spawning threads)
  int fd() const { return fd_.get(); }
  bool ok() const { return fd_.valid(); }
  bool pending() const;  // non-blocking check

 private:
  net::Fd fd_;
};

}  // namespace ferry::bench
