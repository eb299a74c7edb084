#include "chat/server/checkpointer.h"

#include "common/log.h"

namespace ferry::chat::server {

std::unique_ptr<Checkpointer> Checkpointer::start(const std::string& path, std::string& error,
                                                  int interval_ms) {
  auto db = db::Database::open(path, "NORMAL", error);
  if (!db) return nullptr;
  return std::unique_ptr<Checkpointer>(new Checkpointer(std::move(db), interval_ms));
}

Checkpointer::Checkpointer(std::unique_ptr<db::Database> db, int interval_ms)
    : db_(std::move(db)), interval_ms_(interval_ms), thread_([this] { run(); }) {}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Checkpointer::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stop_; });
    if (stop_) break;
    int log_frames = 0, done_frames = 0;
    int rc = sqlite3_wal_checkpoint_v2(db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                       &done_frames);
    if (rc == SQLITE_OK) {
      checkpoints_.fetch_add(1, std::memory_order_relaxed);
    } else if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
      log::write_limited(log::Level::warn, "store_checkpoint_failed",
                         {{"error", sqlite3_errstr(rc)}}, 1);
    }
  }
}

}  // namespace ferry::chat::server
