// Moves the WAL into the database file off the commit path. SQLite's own
// auto-checkpoint runs inside a commit and stalls it (copy + fsync of the
// database file): every request in that batch waits. Here the store's
// connection never checkpoints by itself; this thread, with its own
// connection, runs PASSIVE checkpoints (they never block the writer) a few
// times a second. If the WAL still grows past `max_wal_pages` (a write load
// that never pauses), the writer truncates it itself (store_worker.cpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "chat/db/sqlite.h"

namespace ferry::chat::server {

class Checkpointer {
 public:
  // Opens its own connection to `path`. nullptr + error on failure.
  static std::unique_ptr<Checkpointer> start(const std::string& path, std::string& error,
                                             int interval_ms = 100);
  ~Checkpointer();  // stops the thread
  uint64_t checkpoints() const { return checkpoints_.load(); }

 private:
  Checkpointer(std::unique_ptr<db::Database> db, int interval_ms);
  void run();

  std::unique_ptr<db::Database> db_;
  int interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<uint64_t> checkpoints_{0};
  std::thread thread_;
};

}  // namespace ferry::chat::server
