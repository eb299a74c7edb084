// Which workers get pinned, and where.
#include "proxy/cpu_placement.h"

#include <gtest/gtest.h>

namespace ferry::proxy {
namespace {

const std::vector<int> kUnpinned2{-1, -1};

TEST(WorkerCpus, OneWorkerPerAllowedCpuIsPinnedInOrder) {
  EXPECT_EQ(worker_cpus(CpuAffinity::automatic, 2, {0, 1}), (std::vector<int>{0, 1}));
  // A cpuset need not start at 0 or be contiguous.
  EXPECT_EQ(worker_cpus(CpuAffinity::automatic, 3, {2, 5, 7}), (std::vector<int>{2, 5, 7}));
}

TEST(WorkerCpus, NoneNeverPins) {
  EXPECT_EQ(worker_cpus(CpuAffinity::none, 2, {0, 1}), kUnpinned2);
}

TEST(WorkerCpus, FewerWorkersThanCpusAreLeftToTheScheduler) {
  EXPECT_EQ(worker_cpus(CpuAffinity::automatic, 2, {0, 1, 2, 3}), kUnpinned2);
}

TEST(WorkerCpus, MoreWorkersThanCpusAreNotPinnedTogether) {
  EXPECT_EQ(worker_cpus(CpuAffinity::automatic, 2, {0}), kUnpinned2);
  EXPECT_EQ(worker_cpus(CpuAffinity::automatic, 2, {}), kUnpinned2);
}

TEST(WorkerCpus, ASingleWorkerIsNotPinned) {
  EXPECT_EQ(worker_cpus(CpuAffinity::automatic, 1, {3}), (std::vector<int>{-1}));
}

TEST(AllowedCpus, ListsTheCpusThisProcessMayUse) {
  std::vector<int> cpus = allowed_cpus();
  ASSERT_FALSE(cpus.empty());
  for (size_t i = 1; i < cpus.size(); ++i) EXPECT_LT(cpus[i - 1], cpus[i]);
}

}  // namespace
}  // namespace ferry::proxy
