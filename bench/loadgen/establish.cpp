#include "establish.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "clock.h"
#include "support/poller.h"
#include "support/tcp.h"

namespace ferry::bench {
namespace {

enum class Stage { idle, connecting, writing, reading };

struct Slot {
  net::Fd fd;
  Stage stage = Stage::idle;
  int done = 0;  // bytes written (writing) or read back (reading)
  uint32_t generation = 0;
  uint64_t started_ns = 0;
  uint64_t retry_at_ns = 0;  // after a failed connect, to avoid spinning
};

uint64_t tag(size_t index, uint32_t generation) {
  return (static_cast<uint64_t>(index) << 32) | generation;
}

class Establisher {
 public:
  Establisher(const EstablishRequest& req, ErrorCounter& errors)
      : req_(req), errors_(errors), slots_(static_cast<size_t>(std::max(1, req.parallel))) {
    // Bounded retries: a dead target ends the phase instead of looping.
    max_attempts_ = static_cast<uint64_t>(req.count) * 2 + 100;
  }

  std::vector<net::Fd> run() {
    std::array<epoll_event, 256> events{};
    while (static_cast<int>(done_.size()) < req_.count) {
      uint64_t now = now_ns();
      if (now >= req_.deadline_ns) {
        errors_.add("establish_deadline");
        break;
      }
      if (req_.stop != nullptr && req_.stop->pending()) break;
      if (in_flight_ == 0 && attempts_ >= max_attempts_) {
        errors_.add("establish_too_many_failures");
        break;
      }
      launch(now);
      int n = poller_.wait(events, 10);
      for (int i = 0; i < n; ++i) handle(events[static_cast<size_t>(i)]);
      expire(now_ns());
    }
    return std::move(done_);
  }

 private:
  void launch(uint64_t now) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      int wanted = req_.count - static_cast<int>(done_.size()) - in_flight_;
      if (wanted <= 0 || attempts_ >= max_attempts_) return;
      if (s.stage != Stage::idle || s.retry_at_ns > now) continue;
      ++attempts_;
      int err = 0;
      s.fd = start_connect(*req_.target, err);
      if (!s.fd) {
        errors_.add("connect", err);
        s.retry_at_ns = now + 10'000'000;
        continue;
      }
      ++s.generation;
      s.stage = Stage::connecting;
      s.done = 0;
      s.started_ns = now;
      ++in_flight_;
      if (!poller_.add(s.fd.get(), EPOLLOUT, tag(i, s.generation))) fail(i, "epoll_add", errno);
    }
  }

  void handle(const epoll_event& ev) {
    size_t index = static_cast<size_t>(ev.data.u64 >> 32);
    if (index >= slots_.size()) return;
    Slot& s = slots_[index];
    if (s.stage == Stage::idle || s.generation != static_cast<uint32_t>(ev.data.u64)) return;
    if (s.stage == Stage::connecting) {
      int err = pending_error(s.fd.get());
      if (err != 0) return fail(index, "connect", err);
      if (req_.echo_bytes == 0) return finish(index);
      s.stage = Stage::writing;
    }
    if (s.stage == Stage::writing) {
      ssize_t n = ::send(s.fd.get(), pattern() + s.done,
                         static_cast<size_t>(req_.echo_bytes - s.done), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        return fail(index, "send", errno);
      }
      s.done += static_cast<int>(n);
      if (s.done < req_.echo_bytes) return;
      s.done = 0;
      s.stage = Stage::reading;
      poller_.modify(s.fd.get(), EPOLLIN, tag(index, s.generation));
      return;
    }
    // Stage::reading
    std::array<unsigned char, 4096> buf{};
    size_t want = std::min(buf.size(), static_cast<size_t>(req_.echo_bytes - s.done));
    ssize_t n = ::recv(s.fd.get(), buf.data(), want, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return fail(index, "recv", errno);
    }
    if (n == 0) return fail(index, "eof_before_echo");
    if (std::memcmp(buf.data(), pattern() + s.done, static_cast<size_t>(n)) != 0)
      return fail(index, "echo_mismatch");
    s.done += static_cast<int>(n);
    if (s.done == req_.echo_bytes) finish(index);
  }

  void expire(uint64_t now) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (s.stage != Stage::idle && now - s.started_ns > req_.op_timeout_ns) fail(i, "timeout");
    }
  }

  void finish(size_t index) {
    Slot& s = slots_[index];
    poller_.remove(s.fd.get());
    done_.push_back(std::move(s.fd));
    s.stage = Stage::idle;
    --in_flight_;
  }

  void fail(size_t index, const char* reason, int err = 0) {
    Slot& s = slots_[index];
    errors_.add(reason, err);
    s.fd.reset();
    s.stage = Stage::idle;
    --in_flight_;
  }

  const EstablishRequest& req_;
  ErrorCounter& errors_;
  Poller poller_;
  std::vector<Slot> slots_;
  std::vector<net::Fd> done_;
  int in_flight_ = 0;
  uint64_t attempts_ = 0;
  uint64_t max_attempts_ = 0;
};

}  // namespace

std::vector<net::Fd> establish(const EstablishRequest& req, ErrorCounter& errors) {
  if (req.target == nullptr || req.count <= 0) return {};
  return Establisher(req, errors).run();
}

}  // namespace ferry::bench
