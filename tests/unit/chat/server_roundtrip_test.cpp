// The server in-process (its loop on a thread) with the client library
// talking to it over loopback: the session, delivery paging and drain paths
// run under the unit tests' sanitizers too.
#include <gtest/gtest.h>

#include <thread>

#include "chat/client/messenger.h"
#include "chat/server/server.h"
#include "test_dir.h"

namespace ferry::chat {
namespace {

using testing::TempDir;

class InProcessServer {
 public:
  explicit InProcessServer(const std::string& dir, uint32_t window, uint32_t page,
                           size_t max_output = size_t{8} << 20) {
    server::ServerOptions o;
    o.listen.push_back(net::HostPort{"127.0.0.1", 0});
    o.data_dir = dir;
    o.delivery_window = window;
    o.page_size = page;
    o.max_output = max_output;
    o.synchronous = "NORMAL";
    o.one_time_prekeys_per_hour = 0;  // one client drains another's prekeys here
    server_ = std::make_unique<server::Server>(std::move(o));
    std::string error;
    ok_ = server_->start(error);
    EXPECT_TRUE(ok_) << error;
    if (ok_) thread_ = std::thread([this] { server_->run(); });
  }
  ~InProcessServer() {
    if (thread_.joinable()) {
      server_->request_stop();
      thread_.join();
    }
  }
  const std::string& link() const { return server_->link(); }
  server::Server& server() { return *server_; }

 private:
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
  bool ok_ = false;
};

struct Client {
  Client(const TempDir& dir, const std::string& name) {
    client::ClientOptions o;
    o.home = dir.path() + "/" + name;
    o.request_timeout_ms = 20'000;
    m = std::make_unique<client::Messenger>(o);
    client::Events ev;
    ev.message = [this](const client::InItem& item) {
      got.push_back(item.sender + ": " + item.text);
    };
    m->set_events(ev);
  }
  std::unique_ptr<client::Messenger> m;
  std::vector<std::string> got;
};

TEST(ServerRoundTrip, PagedDeliveryKeepsOrderWithATinyWindow) {
  TempDir dir;
  InProcessServer srv(dir.path() + "/srv", /*window=*/4, /*page=*/3);
  Client alice(dir, "alice"), bob(dir, "bob");
  alice.m->register_account("alice", srv.link());
  bob.m->register_account("bob", srv.link());

  constexpr int kMessages = 60;
  for (int i = 0; i < kMessages; ++i) alice.m->enqueue_text("bob", "m" + std::to_string(i));
  alice.m->flush_outbox(client::now_ms() + 20'000);

  bob.m->connect();
  bob.m->start_receiving();
  ASSERT_TRUE(bob.m->pump(client::now_ms() + 20'000, [&] { return bob.got.size() == kMessages; }));
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(bob.got[i], "alice: m" + std::to_string(i));

  // Live pushes once drained: the window refills as bob acknowledges.
  for (int i = 0; i < 10; ++i) alice.m->enqueue_text("bob", "live" + std::to_string(i));
  alice.m->flush_outbox(client::now_ms() + 20'000);
  ASSERT_TRUE(
      bob.m->pump(client::now_ms() + 20'000, [&] { return bob.got.size() == kMessages + 10; }));
  EXPECT_EQ(bob.got.back(), "alice: live9");
}

// A page of big envelopes is more than a connection may have unsent: the
// server pushes what fits and the rest once the client has read. (It used to
// queue the whole page and drop the reader as too slow before a byte went
// out, on every connect: anyone could lock anyone's inbox with big messages.)
TEST(ServerRoundTrip, ABacklogBeyondTheOutputLimitIsDeliveredInPieces) {
  TempDir dir;
  InProcessServer srv(dir.path() + "/srv", /*window=*/1024, /*page=*/256,
                      /*max_output=*/size_t{256} << 10);
  Client alice(dir, "alice"), bob(dir, "bob");
  alice.m->register_account("alice", srv.link());
  bob.m->register_account("bob", srv.link());

  constexpr int kMessages = 40;  // 40 x 16 KB: 2.5 times max_output
  const std::string filler(16'000, 'x');
  for (int i = 0; i < kMessages; ++i) alice.m->enqueue_text("bob", std::to_string(i) + filler);
  alice.m->flush_outbox(client::now_ms() + 20'000);

  bob.m->connect();
  bob.m->start_receiving();
  ASSERT_TRUE(bob.m->pump(client::now_ms() + 20'000, [&] { return bob.got.size() == kMessages; }))
      << "got " << bob.got.size();
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(bob.got[i], "alice: " + std::to_string(i) + filler);
}

TEST(ServerRoundTrip, OneTimePrekeysRunLowAndAreReplenished) {
  TempDir dir;
  InProcessServer srv(dir.path() + "/srv", 64, 16);
  Client alice(dir, "alice"), bob(dir, "bob");
  alice.m->register_account("alice", srv.link());
  bob.m->register_account("bob", srv.link());
  EXPECT_EQ(bob.m->store().one_time_prekey_count(), 100u);
  bob.m->connect();
  bob.m->start_receiving();
  // Each bundle alice fetches takes one of bob's 100; below 20 the server
  // tells bob, and bob uploads 100 more.
  for (int i = 0; i < 81; ++i) alice.m->start_session_with("bob");
  ASSERT_TRUE(bob.m->pump(client::now_ms() + 20'000,
                          [&] { return bob.m->store().one_time_prekey_count() == 200u; }));
  // Let the upload's answer arrive, then count what the server holds.
  bob.m->ping();
  bob.m->pump(client::now_ms() + 2'000, nullptr);
  std::string error;
  auto db = db::Database::open(dir.path() + "/srv/server.db", "NORMAL", error);
  ASSERT_TRUE(db) << error;
  auto count = db->prepare(
      "SELECT count(*) FROM one_time_prekeys o JOIN accounts a ON a.id = o.account_id "
      "WHERE a.username = 'bob'");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.int64(0), 100 - 81 + 100);
}

TEST(ServerRoundTrip, ANewLoginReplacesTheOldSession) {
  TempDir dir;
  InProcessServer srv(dir.path() + "/srv", 64, 16);
  Client bob(dir, "bob");
  bob.m->register_account("bob", srv.link());
  bob.m->disconnect();
  // Two connections of the same account: the second replaces the first.
  client::ClientOptions o;
  o.home = dir.path() + "/bob";
  client::Messenger second(o);
  bob.m->connect();
  bob.m->start_receiving();
  second.connect();
  second.start_receiving();
  EXPECT_THROW(
      {
        for (int i = 0; i < 100; ++i) {
          bob.m->ping();
          bob.m->pump(client::now_ms() + 200, nullptr);
        }
      },
      client::ClientError);
}

}  // namespace
}  // namespace ferry::chat
