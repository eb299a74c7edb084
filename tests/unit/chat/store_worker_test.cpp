#include "chat/server/store_worker.h"

#include <gtest/gtest.h>

#include <chrono>

#include "test_dir.h"

namespace ferry::chat::server {
namespace {

using testing::TempDir;

class StoreWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = ServerStore::open(dir_.file("server.db"), "NORMAL", {}, error);
    ASSERT_TRUE(store_) << error;
    worker_ = std::make_unique<StoreWorker>(*store_, loop_, 64);
    worker_->start();
  }
  // Runs the loop until `done` or 10 s.
  template <typename F>
  bool run_until(F done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) loop_.run_once(50);
    return done();
  }

  TempDir dir_;
  net::EventLoop loop_;
  std::unique_ptr<ServerStore> store_;
  std::unique_ptr<StoreWorker> worker_;
};

TEST_F(StoreWorkerTest, CompletionsRunOnTheLoopInSubmissionOrderAfterCommit) {
  std::vector<int> order;
  int committed = 0;
  std::thread::id loop_thread = std::this_thread::get_id();
  for (int i = 0; i < 500; ++i) {
    worker_->submit(make_op(
        [i](ServerStore& s) {
          s.register_account("login" + std::to_string(i), "u" + std::to_string(i), "id", 1);
        },
        [&, i](bool ok) {
          EXPECT_EQ(std::this_thread::get_id(), loop_thread);
          order.push_back(i);
          committed += ok;
        }));
  }
  ASSERT_TRUE(run_until([&] { return order.size() == 500; }));
  for (int i = 0; i < 500; ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(committed, 500);
  EXPECT_EQ(worker_->outstanding(), 0u);
  // Batches of at most 64: at least 8 commits, and fewer commits than ops.
  EXPECT_GE(worker_->stats().batches.load(), 8u);
  // Durable: visible from a second connection.
  std::string error;
  auto other = ServerStore::open(dir_.file("server.db"), "NORMAL", {}, error);
  ASSERT_TRUE(other) << error;
  EXPECT_TRUE(other->account_by_name("u499"));
}

TEST_F(StoreWorkerTest, AFailingOperationRollsBackItsWholeBatch) {
  // Hold the queue so all three land in one batch.
  std::mutex gate;
  gate.lock();
  worker_->submit(make_op([&](ServerStore&) { std::lock_guard l(gate); }, [](bool) {}));
  std::vector<bool> results;
  worker_->submit(make_op([](ServerStore& s) { s.register_account("l1", "one", "id", 1); },
                          [&](bool ok) { results.push_back(ok); }));
  worker_->submit(make_op([](ServerStore&) { throw db::DbError("disk on fire", 10); },
                          [&](bool ok) { results.push_back(ok); }));
  worker_->submit(make_op([](ServerStore& s) { s.register_account("l3", "three", "id", 1); },
                          [&](bool ok) { results.push_back(ok); }));
  gate.unlock();
  ASSERT_TRUE(run_until([&] { return results.size() == 3; }));
  EXPECT_EQ(results, (std::vector<bool>{false, false, false}));
  EXPECT_EQ(worker_->stats().failed_batches.load(), 1u);
  worker_->stop();
  EXPECT_FALSE(store_->account_by_name("one"));
  EXPECT_FALSE(store_->account_by_name("three"));
}

}  // namespace
}  // namespace ferry::chat::server
