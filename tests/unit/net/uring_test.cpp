// The ring itself: operations made before the ring is enabled (a worker's
// listeners are set up before its thread runs) are all carried out, in
// order, however many there are.
#include "net/uring.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry::net {
namespace {

class Recorder final : public Completion {
 public:
  explicit Recorder(std::vector<int>& order, int index) : order_(order), index_(index) {}
  void on_complete(int res, uint32_t /*flags*/, uint8_t /*tag*/) override {
    if (res == 0) order_.push_back(index_);
  }

 private:
  std::vector<int>& order_;
  int index_;
};

TEST(Ring, MoreOperationsBeforeEnableThanTheQueueHoldsAllRunInOrder) {
  Ring::Options opts;
  opts.entries = 4;  // the kernel may round up; 40 is far beyond it either way
  opts.buffers = 4;
  opts.buffer_size = 4096;
  std::string error;
  std::unique_ptr<Ring> ring = Ring::create(opts, error);
  if (!ring) GTEST_SKIP() << "no io_uring here: " << error;

  constexpr int kOps = 40;
  std::vector<int> order;
  std::vector<Recorder> recorders;
  recorders.reserve(kOps);
  for (int i = 0; i < kOps; ++i) {
    recorders.emplace_back(order, i);
    io_uring_prep_nop(ring->sqe(&recorders.back()));
  }
  ASSERT_TRUE(ring->enable());
  for (int round = 0; round < 100 && order.size() < kOps; ++round) {
    ring->wait(100);
    ring->dispatch();
  }
  ASSERT_EQ(order.size(), size_t{kOps});
  for (int i = 0; i < kOps; ++i) EXPECT_EQ(order[i], i);
}

}  // namespace
}  // namespace ferry::net
