// cpu_affinity = "auto": with one worker per CPU the workers are pinned, one
// to each CPU; otherwise, and by default ("none"), every thread is left to the
// scheduler.
#include <dirent.h>
#include <sched.h>

#include <fstream>

#include "harness/test_upstream.h"
#include "proxy_fixture.h"

namespace ferry::test {
namespace {

int cpus_this_process_may_use() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

// The CPU of every thread of `pid` that is pinned to exactly one; threads
// that may run on several are left out.
std::vector<int> pinned_threads(pid_t pid) {
  std::vector<int> cpus;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return cpus;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream status(dir + "/" + e->d_name + "/status");
    std::string line;
    while (std::getline(status, line)) {
      const std::string key = "Cpus_allowed_list:";
      if (line.rfind(key, 0) != 0) continue;
      std::string list = line.substr(key.size());
      list.erase(0, list.find_first_not_of(" \t"));
      if (list.find_first_of(",-") == std::string::npos) cpus.push_back(std::stoi(list));
    }
  }
  ::closedir(d);
  std::sort(cpus.begin(), cpus.end());
  return cpus;
}

// simple_config with `workers` and `top` in place of its "workers = 2".
std::string config_with_workers(int workers, uint16_t port, uint16_t up, const std::string& top) {
  const std::string fixed = "workers = 2\n";
  std::string text = simple_config(port, up, top);
  if (text.rfind(fixed, 0) == 0)
    text.replace(0, fixed.size(), "workers = " + std::to_string(workers) + "\n");
  return text;
}

class CpuPlacement : public ::testing::Test {
 protected:
  void SetUp() override {
    cpus_ = cpus_this_process_may_use();
    if (cpus_ < 2) GTEST_SKIP() << "needs at least 2 CPUs, this process may use " << cpus_;
  }
  // Starts a proxy, proves it relays, and returns its pinned threads' CPUs
  // once `expected` of them are pinned (each worker pins itself when its
  // thread first runs, which on a busy machine can come after the start
  // log line and after another worker relayed), or after 5 s.
  std::vector<int> pinned_with(int workers, const std::string& top, size_t expected) {
    TestUpstream up;
    uint16_t port = free_port();
    RunningProxy proxy(config_with_workers(workers, port, up.port(), top));
    EXPECT_TRUE(proxy.started()) << proxy.process().err();
    net::Fd c = connect_to("127.0.0.1", port);
    EXPECT_TRUE(send_all(c.get(), "ping") && recv_exact(c.get(), 4) == "ping");
    std::vector<int> pinned;
    wait_until(
        [&] {
          pinned = pinned_threads(proxy.process().pid());
          return pinned.size() >= expected;
        },
        5s);
    log_ = proxy.process().err();
    return pinned;
  }
  int cpus_ = 0;
  std::string log_;
};

TEST_F(CpuPlacement, OneWorkerPerCpuPinsEachToItsOwnCpu) {
  std::vector<int> pinned =
      pinned_with(cpus_, "cpu_affinity = \"auto\"\n", static_cast<size_t>(cpus_));
  ASSERT_EQ(pinned.size(), static_cast<size_t>(cpus_)) << log_;
  for (size_t i = 1; i < pinned.size(); ++i)
    EXPECT_NE(pinned[i - 1], pinned[i]) << "two workers on one CPU";
  EXPECT_NE(log_.find("event=started workers=" + std::to_string(cpus_) + " pinned=true"),
            std::string::npos)
      << log_;
}

TEST_F(CpuPlacement, ByDefaultEveryThreadIsLeftToTheScheduler) {
  EXPECT_TRUE(pinned_with(cpus_, "", 0).empty());
  EXPECT_NE(log_.find("pinned=false"), std::string::npos) << log_;
}

TEST_F(CpuPlacement, FewerWorkersThanCpusAreNotPinned) {
  EXPECT_TRUE(pinned_with(cpus_ - 1, "cpu_affinity = \"auto\"\n", 0).empty());
}

}  // namespace
}  // namespace ferry::test
