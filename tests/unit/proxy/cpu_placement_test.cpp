// Which workers get pinned, and where.
#include "proxy/cpu_placement.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

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

TEST(CpuMax, WholeCpusRoundedUp) {
  EXPECT_EQ(cpus_from_cpu_max("100000 100000\n"), 1u);
  EXPECT_EQ(cpus_from_cpu_max("150000 100000"), 2u);
  EXPECT_EQ(cpus_from_cpu_max("25000 100000"), 1u);  // 250m: one worker, not none
  EXPECT_EQ(cpus_from_cpu_max("400000 100000"), 4u);
}

TEST(CpuMax, NoLimitOrGarbageIsZero) {
  for (const char* text : {"max 100000", "", "100000", "abc 100000", "100000 0", "0 100000",
                           "-5 100000", "100000 100000 7"}) {
    EXPECT_EQ(cpus_from_cpu_max(text), 0u) << text;
  }
}

// A fake /sys/fs/cgroup and /proc/self/cgroup in a temporary directory.
class CgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ferry-cgroup-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& relative, const std::string& text) {
    std::filesystem::path p = dir_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  size_t limit() { return cgroup_cpu_limit((dir_ / "fs").string(), (dir_ / "self").string()); }
  std::filesystem::path dir_;
};

TEST_F(CgroupTree, TheProcessOwnLimit) {
  write("self", "0::/kubepods/pod1/ctr\n");
  write("fs/kubepods/pod1/ctr/cpu.max", "150000 100000\n");
  EXPECT_EQ(limit(), 2u);
}

TEST_F(CgroupTree, ATighterLimitFurtherUpWins) {
  write("self", "0::/kubepods/pod1/ctr\n");
  write("fs/kubepods/pod1/ctr/cpu.max", "max 100000\n");
  write("fs/kubepods/pod1/cpu.max", "100000 100000\n");
  write("fs/kubepods/cpu.max", "800000 100000\n");
  EXPECT_EQ(limit(), 1u);
}

TEST_F(CgroupTree, ANamespacedRootIsRead) {
  write("self", "0::/\n");
  write("fs/cpu.max", "300000 100000\n");
  EXPECT_EQ(limit(), 3u);
}

TEST_F(CgroupTree, NoLimitAnywhereIsZero) {
  write("self", "0::/system.slice/ferry-proxy.service\n");
  write("fs/system.slice/ferry-proxy.service/cpu.max", "max 100000\n");
  EXPECT_EQ(limit(), 0u);
}

TEST_F(CgroupTree, CgroupV1OrNothingReadableIsZero) {
  write("self", "4:memory:/a\n1:cpu:/a\n");
  write("fs/a/cpu.max", "100000 100000\n");
  EXPECT_EQ(limit(), 0u);
  EXPECT_EQ(cgroup_cpu_limit((dir_ / "none").string(), (dir_ / "missing").string()), 0u);
}

TEST(DefaultWorkerCount, IsAtLeastOneAndAtMostTheUsableCpus) {
  size_t n = default_worker_count();
  EXPECT_GE(n, 1u);
  EXPECT_LE(n, allowed_cpus().size());
}

}  // namespace
}  // namespace ferry::proxy
