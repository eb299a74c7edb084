#include "chat/server/store_worker.h"

#include "common/log.h"

namespace ferry::chat::server {

StoreWorker::StoreWorker(ServerStore& store, net::EventLoop& loop, size_t max_batch,
                         unsigned commit_delay_us)
    : store_(store),
      loop_(loop),
      max_batch_(max_batch == 0 ? 1 : max_batch),
      commit_delay_us_(commit_delay_us) {}

StoreWorker::~StoreWorker() {
  stop();
}

void StoreWorker::start() {
  thread_ = std::thread([this] { thread_main(); });
}

void StoreWorker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void StoreWorker::submit(std::unique_ptr<StoreOp> op) {
  outstanding_.fetch_add(1, std::memory_order_relaxed);
  bool wake;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(op));
    wake = queue_.size() == 1 || queue_.size() == 64;
  }
  if (wake) cv_.notify_one();
}

bool StoreWorker::run_batch(Batch& batch) {
  auto& db = store_.db();
  try {
    db.begin();
    for (auto& op : batch) op->run(store_);
    db.commit();
    store_.limit_wal();
    return true;
  } catch (const db::DbError& e) {
    db.rollback();
    store_.on_rollback();
    log::error("store_batch_failed", {{"ops", batch.size()}, {"error", e.what()}});
    return false;
  }
}

void StoreWorker::thread_main() {
  for (;;) {
    auto batch = std::make_shared<Batch>();
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      // Under load (the last batch was not a lone request), wait a moment
      // for more: fewer, fuller transactions write each B-tree page once
      // for many requests instead of once per request. An idle server's
      // single request goes at once.
      if (commit_delay_us_ > 0 && last_batch_ > 1 && queue_.size() < 64 && !stopping_) {
        auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(commit_delay_us_);
        cv_.wait_until(lock, until, [this] { return stopping_ || queue_.size() >= 64; });
      }
      // Everything that queued up while the last batch was committing goes
      // into this one: that is the group commit.
      size_t n = std::min(queue_.size(), max_batch_);
      batch->reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch->push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    last_batch_ = batch->size();
    uint64_t started = net::monotonic_ms();
    bool committed = run_batch(*batch);
    uint64_t took = net::monotonic_ms() - started;
    // Slow commits are what clients feel as latency: worth a (limited) line.
    if (took >= 100)
      log::write_limited(log::Level::info, "store_slow_commit",
                         {{"ms", took}, {"ops", batch->size()}}, 1);
    stats_.batches.fetch_add(1, std::memory_order_relaxed);
    stats_.ops.fetch_add(batch->size(), std::memory_order_relaxed);
    if (!committed) stats_.failed_batches.fetch_add(1, std::memory_order_relaxed);
    loop_.post([this, batch, committed] {
      for (auto& op : *batch) op->done(committed);
      outstanding_.fetch_sub(batch->size(), std::memory_order_relaxed);
      if (after_batch_) after_batch_();
    });
  }
}

}  // namespace ferry::chat::server
