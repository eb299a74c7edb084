// kill -9 of the server at any moment: no acknowledged message is lost and
// none reaches the application twice. The kills come at random moments while
// senders and receivers run; the assertions are about what arrives, never
// about timing.
#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "chat_fixture.h"

namespace ferry::test::chat {
namespace {

// Kills and restarts the server at random moments until told to stop.
class Killer {
 public:
  explicit Killer(RunningServer& server) : server_(server), thread_([this] { loop(); }) {}
  ~Killer() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int kills() const { return kills_; }

 private:
  void loop() {
    std::mt19937 rng(12345);
    while (!stop_) {
      // A pause of random length is the point here: kills land anywhere.
      std::this_thread::sleep_for(Duration(100 + rng() % 400));
      if (stop_) break;
      server_.restart();
      ++kills_;
      if (!server_.ready()) break;
    }
  }
  RunningServer& server_;
  std::atomic<bool> stop_{false};
  std::atomic<int> kills_{0};
  std::thread thread_;
};

std::vector<std::string> expected(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back("alice: " + prefix + std::to_string(i));
  return out;
}

TEST_F(ChatTest, KillNineWhileSendingLosesAndDuplicatesNothing) {
  register_user("alice");
  register_user("bob");
  constexpr int kMessages = 120;
  int acknowledged = 0, kept = 0;
  {
    Killer killer(*server_);
    for (int i = 1; i <= kMessages; ++i) {
      auto r = ferry(home("alice"), {"send", "bob", "m" + std::to_string(i)}, 60s);
      ASSERT_TRUE(r.code == 0 || r.code == 3) << r.code << " " << r.err;
      (r.code == 0 ? acknowledged : kept)++;
    }
    killer.stop();
    EXPECT_GT(killer.kills(), 3);
  }
  ASSERT_TRUE(server_->ready() || (server_->start(), server_->ready()));
  // The last run flushes whatever the outbox still holds.
  auto last = ferry(home("alice"), {"send", "bob", "end"});
  ASSERT_EQ(last.code, 0) << last.err;

  std::vector<std::string> got;
  for (int round = 0; round < 5; ++round) {
    auto r = ferry(home("bob"), {"receive"});
    ASSERT_EQ(r.code, 0) << r.err;
    for (auto& l : lines(r.out)) got.push_back(l);
    if (!got.empty() && got.back() == "alice: end") break;
  }
  auto want = expected("m", kMessages);
  want.push_back("alice: end");
  EXPECT_EQ(got, want) << "acknowledged=" << acknowledged << " kept=" << kept;
}

TEST_F(ChatTest, KillNineWhileReceivingDeliversEachMessageOnce) {
  register_user("alice");
  register_user("bob");
  constexpr int kMessages = 400;
  // Alice queues them in one go: `chat` with her lines on stdin.
  {
    TempDir input;
    std::string text;
    for (int i = 1; i <= kMessages; ++i) text += "r" + std::to_string(i) + "\n";
    std::string path = input.write("lines", text);
    auto r = run_chat_with_input(home("alice"), "bob", path);
    ASSERT_EQ(r, 0);
  }
  std::vector<std::string> got;
  {
    Killer killer(*server_);
    for (int round = 0; round < 200 && got.size() < kMessages; ++round) {
      auto r = ferry(home("bob"), {"receive"}, 60s);
      ASSERT_TRUE(r.code == 0 || r.code == 3) << r.code << " " << r.err;
      for (auto& l : lines(r.out)) got.push_back(l);
    }
    killer.stop();
  }
  if (!server_->ready()) server_->start();
  ASSERT_TRUE(server_->ready());
  auto rest = ferry(home("bob"), {"receive"});
  ASSERT_EQ(rest.code, 0) << rest.err;
  for (auto& l : lines(rest.out)) got.push_back(l);
  EXPECT_EQ(got, expected("r", kMessages));
}

}  // namespace
}  // namespace ferry::test::chat
