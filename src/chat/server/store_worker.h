// Group commit: one thread owns the ServerStore and runs queued operations in
// batches, one SQLite transaction (one fsync) per batch. Each operation's
// done(committed) runs afterwards on the event loop, in submission order, so
// a sender is told "stored" only once its envelope is durable, and the loop
// sees results in the same order the database applied them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "chat/server/store.h"
#include "net/event_loop.h"

namespace ferry::chat::server {

class StoreOp {
 public:
  virtual ~StoreOp() = default;
  // Worker thread, inside the batch's transaction. May throw db::DbError.
  virtual void run(ServerStore& store) = 0;
  // Loop thread, after the batch committed (true) or was rolled back (false).
  virtual void done(bool committed) = 0;
};

template <typename Run, typename Done>
class FnStoreOp final : public StoreOp {
 public:
  FnStoreOp(Run r, Done d) : run_(std::move(r)), done_(std::move(d)) {}
  void run(ServerStore& store) override { run_(store); }
  void done(bool committed) override { done_(committed); }

 private:
  Run run_;
  Done done_;
};

template <typename Run, typename Done>
std::unique_ptr<StoreOp> make_op(Run r, Done d) {
  return std::make_unique<FnStoreOp<Run, Done>>(std::move(r), std::move(d));
}

struct StoreWorkerStats {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> ops{0};
  std::atomic<uint64_t> failed_batches{0};
};

class StoreWorker {
 public:
  // `commit_delay_us`: under load, how long a batch may wait to fill up.
  StoreWorker(ServerStore& store, net::EventLoop& loop, size_t max_batch = 4096,
              unsigned commit_delay_us = 1000);
  StoreWorker(const StoreWorker&) = delete;
  StoreWorker& operator=(const StoreWorker&) = delete;
  ~StoreWorker();  // stop()

  void start();
  // Runs what is queued, then ends the thread. Completions already posted
  // still need the loop to run to be delivered.
  void stop();

  // Any thread (in practice the loop thread).
  void submit(std::unique_ptr<StoreOp> op);
  // Operations submitted whose done() has not run yet.
  size_t outstanding() const { return outstanding_.load(std::memory_order_relaxed); }

  // Runs on the loop after the done() calls of each batch (flush outputs).
  void set_after_batch(std::function<void()> fn) { after_batch_ = std::move(fn); }

  const StoreWorkerStats& stats() const { return stats_; }

 private:
  using Batch = std::vector<std::unique_ptr<StoreOp>>;
  void thread_main();
  bool run_batch(Batch& batch);

  ServerStore& store_;
  net::EventLoop& loop_;
  size_t max_batch_;
  unsigned commit_delay_us_;
  size_t last_batch_ = 0;  // store thread only
  std::function<void()> after_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<StoreOp>> queue_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<size_t> outstanding_{0};
  StoreWorkerStats stats_;
};

}  // namespace ferry::chat::server
