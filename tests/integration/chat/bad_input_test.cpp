// Hostile and broken clients: each is closed and counted, and a well-behaved
// client connected all along is not disturbed.
#include <sys/socket.h>

#include <thread>
#include <vector>

#include "chat/db/sqlite.h"
#include "chat_fixture.h"
#include "net/proxy_protocol.h"
#include "noise_client.h"

namespace ferry::test::chat {
namespace {

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ready()) << server_.process().err();
    good_ = std::make_unique<NoiseClient>(server_.port(), server_.link());
    ASSERT_TRUE(good_->handshake());
    ASSERT_TRUE(good_->alive(1));
  }
  void TearDown() override {
    // The bystander is still served, and so is a real client.
    EXPECT_TRUE(good_->alive(2));
    auto r = ferry(homes_.path() + "/carol", {"register", "carol", "--server", server_.link()});
    EXPECT_EQ(r.code, 0) << r.err;
  }
  // Sends `bytes` on a fresh connection, optionally half-closes, and
  // expects the server to close it and count it under closed_<reason>.
  void expect_closed(const std::string& bytes, const std::string& reason, bool half_close) {
    auto before = server_.stats()["closed_" + reason];
    net::Fd fd = connect_to("127.0.0.1", server_.port());
    ASSERT_TRUE(fd);
    ASSERT_TRUE(send_all(fd.get(), bytes));
    if (half_close) ::shutdown(fd.get(), SHUT_WR);
    EXPECT_TRUE(wait_closed(fd.get(), 10s));
    EXPECT_TRUE(wait_until([&] { return server_.stats()["closed_" + reason] == before + 1; }, 10s))
        << reason;
  }

  RunningServer server_{{"--max-frame", "16384", "--request-rate", "1000", "--request-burst",
                         "2000", "--handshake-timeout", "2s", "--per-ip-connections", "64"}};
  TempDir homes_;
  std::unique_ptr<NoiseClient> good_;
};

TEST_F(BadInputTest, GarbageHandshakeFrame) {
  expect_closed(std::string("\x00\x05\xff\xfe\xfd\xfc\xfb", 7), "handshake_failed", false);
}

TEST_F(BadInputTest, ZeroLengthFrame) {
  expect_closed(std::string("\x00\x00", 2), "bad_frame", false);
}

TEST_F(BadInputTest, OversizedLength) {
  expect_closed(std::string("\x40\x01", 2) + std::string(64, 'x'), "bad_frame", false);
}

TEST_F(BadInputTest, TruncatedFrame) {
  expect_closed(std::string("\x00\x64", 2) + std::string(50, 'x'), "truncated", true);
}

TEST_F(BadInputTest, HttpProbeIsAnOversizedFrame) {
  // "GE" read as a length is 18245: above this server's 16384.
  expect_closed("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "bad_frame", false);
}

TEST_F(BadInputTest, SilentClientTimesOut) {
  auto before = server_.stats()["closed_handshake_timeout"];
  net::Fd fd = connect_to("127.0.0.1", server_.port());
  ASSERT_TRUE(fd);
  EXPECT_TRUE(wait_closed(fd.get(), 15s));
  EXPECT_EQ(server_.stats()["closed_handshake_timeout"], before + 1);
}

TEST_F(BadInputTest, UndecodableProtobufInAValidSession) {
  auto before = server_.stats()["closed_malformed_request"];
  NoiseClient c(server_.port(), server_.link());
  ASSERT_TRUE(c.handshake());
  ASSERT_TRUE(c.send_plain(std::string("\xff\xff\xff\xff\x0f", 5)));
  EXPECT_TRUE(wait_closed(c.fd(), 10s));
  EXPECT_EQ(server_.stats()["closed_malformed_request"], before + 1);
}

TEST_F(BadInputTest, OutOfRangeFieldIsABadRequestNotAClose) {
  NoiseClient c(server_.port(), server_.link());
  ASSERT_TRUE(c.handshake());
  ferry::chat::pb::Request r;
  r.set_id(5);
  r.mutable_fetch_bundle()->set_username("NOT VALID");
  ASSERT_TRUE(c.send(r));
  auto answer = c.receive();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->id(), 5u);
  EXPECT_EQ(answer->error().code(), ferry::chat::pb::BAD_REQUEST);
  EXPECT_TRUE(c.alive());
}

TEST_F(BadInputTest, ReplayedFramesAreRefused) {
  // A real session, recorded as a proxy in the middle would see it.
  NoiseClient victim(server_.port(), server_.link());
  ASSERT_TRUE(victim.handshake());
  ASSERT_TRUE(victim.ping(7));
  ASSERT_TRUE(victim.receive());
  auto recorded = victim.sent_frames;
  ASSERT_EQ(recorded.size(), 2u);  // IK message 1, then the Ping

  // Replayed whole on a new connection: the server answers the handshake (an
  // IK first message carries nothing that acts), but the Ping does not
  // decrypt under the new session's keys.
  auto before = server_.stats()["closed_decrypt_failed"];
  net::Fd fd = connect_to("127.0.0.1", server_.port());
  ASSERT_TRUE(send_all(fd.get(), recorded[0] + recorded[1]));
  EXPECT_TRUE(wait_closed(fd.get(), 10s));
  EXPECT_EQ(server_.stats()["closed_decrypt_failed"], before + 1);

  // Replayed into the victim's own live session: the nonce has moved on.
  ASSERT_TRUE(send_all(victim.fd(), recorded[1]));
  EXPECT_TRUE(wait_closed(victim.fd(), 10s));
  EXPECT_EQ(server_.stats()["closed_decrypt_failed"], before + 2);
}

TEST_F(BadInputTest, AReplayedLoginDoesNotReplaceTheAccountsSession) {
  // Anyone on the path can record an IK first message and send it again; the
  // server completes that handshake (it cannot tell), but a replayer without
  // the client's keys must not log the account in and so close the real
  // session as `replaced`.
  NoiseClient victim(server_.port(), server_.link());
  ASSERT_TRUE(victim.handshake());
  ASSERT_TRUE(victim.register_as("victim"));
  auto recorded = victim.sent_frames.front();

  auto replaced = server_.stats()["closed_replaced"];
  net::Fd replay = connect_to("127.0.0.1", server_.port());
  ASSERT_TRUE(send_all(replay.get(), recorded));
  auto answer = recv_exact(replay.get(), 2, 10s);
  ASSERT_TRUE(answer) << "the server did not answer the replayed handshake";
  const size_t length =
      (size_t{static_cast<uint8_t>((*answer)[0])} << 8) | static_cast<uint8_t>((*answer)[1]);
  ASSERT_TRUE(recv_exact(replay.get(), length, 10s)) << "the handshake answer was cut short";
  // Nothing more: the account has no one-time prekeys, but a PrekeysLow push
  // would tell the replayer that this login is registered, and how its
  // prekey stock goes (who starts sessions with the victim).
  EXPECT_TRUE(stays_open(replay.get(), 1s)) << "a replayed login was pushed something";
  // The replayer can only send garbage now; it is closed for it.
  ASSERT_TRUE(send_all(replay.get(), std::string("\x00\x20", 2) + std::string(32, 'z')));
  EXPECT_TRUE(wait_closed(replay.get(), 10s));
  EXPECT_TRUE(victim.alive(3)) << "the replay closed the account's real session";
  EXPECT_EQ(server_.stats()["closed_replaced"], replaced);
}

TEST_F(BadInputTest, AResetDuringTheLoginLookupIsClosedAtOnce) {
  // While the login lookup waits for the store the session reads nothing. A
  // client that resets then must be closed on its hang-up at once: the
  // hang-up is reported whatever the session asked for, and left unanswered
  // it would wake the event loop again and again until the lookup ended.
  std::string error;
  auto db = ferry::chat::db::Database::open(server_.data_dir() + "/server.db", "NORMAL", error);
  ASSERT_TRUE(db) << error;
  const auto before = server_.stats()["closed_io_error"];
  db->exec("BEGIN IMMEDIATE");  // the lookup waits (the server's busy timeout is 5 s)
  {
    NoiseClient client(server_.port(), server_.link());
    ASSERT_TRUE(client.handshake());
    const linger reset{1, 0};
    ASSERT_EQ(::setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
  }  // closed: RST
  const bool closed_while_waiting =
      wait_until([&] { return server_.stats()["closed_io_error"] == before + 1; }, 3s);
  db->exec("COMMIT");
  EXPECT_TRUE(closed_while_waiting) << "the reset was noticed only when the lookup ended";
}

TEST(ChatLimits, SendsThatOutrunTheStoreAreBoundedInBytesPerConnection) {
  // Clients pour big Sends in while the store cannot commit (the test holds
  // the database's write lock), and never read the answers: once 1 MiB per
  // connection waits for the store, the rest waits in their sockets, not in
  // the server's memory.
  RunningServer server;
  ASSERT_TRUE(server.ready()) << server.process().err();
  NoiseClient sink(server.port(), server.link());
  ASSERT_TRUE(sink.handshake() && sink.register_as("sink"));
  constexpr int kClients = 4;
  constexpr int kSends = 150;  // 9 MB each
  std::vector<std::unique_ptr<NoiseClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<NoiseClient>(server.port(), server.link()));
    ASSERT_TRUE(clients.back()->handshake());
    ASSERT_TRUE(clients.back()->register_as("flood" + std::to_string(i)));
    clients.back()->keep_frames = false;
  }
  std::string error;
  auto db = ferry::chat::db::Database::open(server.data_dir() + "/server.db", "NORMAL", error);
  ASSERT_TRUE(db) << error;
  db->exec("BEGIN IMMEDIATE");  // the server's commits wait (its busy timeout is 5 s)

  const long before = server.process().rss_kib();
  const std::string content(60'000, 'c');
  std::vector<std::thread> senders;
  std::vector<int> sent(kClients, 0);
  for (int i = 0; i < kClients; ++i) {
    senders.emplace_back([&, i] {
      for (int n = 0; n < kSends; ++n) {
        ferry::chat::pb::Request r;
        r.set_id(1000 + n);
        auto* send = r.mutable_send();
        send->set_recipient("sink");
        send->set_client_id(static_cast<uint64_t>(n + 1));
        send->set_content(content);
        if (!clients[i]->send(r, 1s)) break;  // the server stopped reading
        ++sent[i];
      }
    });
  }
  for (auto& t : senders) t.join();
  const long peak = server.process().peak_rss_kib();
  db->exec("COMMIT");
  for (int i = 0; i < kClients; ++i) EXPECT_GT(sent[i], 16) << "client " << i << " got nowhere";
  EXPECT_LT(peak - before, 16 * 1024) << "the server's memory grew by " << (peak - before)
                                      << " KiB for " << kClients << " connections";
  // And the store catches up once it can commit.
  EXPECT_TRUE(sink.alive(5));
}

TEST(ChatLimits, RegistrationsPerAddressAreRateLimited) {
  // Accounts cost nothing, and each may queue --max-sender-bytes: one
  // address gets --registrations-per-hour of them.
  RunningServer server({"--registrations-per-hour", "2"});
  ASSERT_TRUE(server.ready()) << server.process().err();
  for (int i = 0; i < 3; ++i) {
    NoiseClient c(server.port(), server.link());
    ASSERT_TRUE(c.handshake());
    EXPECT_EQ(c.register_as("user" + std::to_string(i)), i < 2) << "registration " << i;
    EXPECT_TRUE(c.alive(7)) << "a refused registration is an answer, not a close";
  }
  EXPECT_EQ(server.stats()["refused_registrations"], 1);
  EXPECT_EQ(server.stats()["registrations"], 2);
}

TEST(ChatLimits, AnIPv6ClientIsCountedByItsSlash64) {
  // One subscriber usually gets a whole IPv6 /64: counted address by
  // address, it could register without end. Addresses come from PROXY
  // headers on the proxy listener, as from a ferry-proxy.
  namespace pp = ferry::net::proxy_protocol;
  RunningServer server({"--registrations-per-hour", "2"});
  ASSERT_TRUE(server.ready()) << server.process().err();
  auto dest = *ferry::net::SocketAddress::from_numeric("127.0.0.1", server.proxy_port());
  auto register_from = [&](const char* ip, const std::string& name) {
    NoiseClient c(server.proxy_port(), server.link(),
                  pp::build_v2(*ferry::net::SocketAddress::from_numeric(ip, 40000), dest));
    return c.handshake() && c.register_as(name);
  };
  EXPECT_TRUE(register_from("2001:db8:1:2::1", "a1"));
  EXPECT_TRUE(register_from("2001:db8:1:2::2", "a2"));
  EXPECT_FALSE(register_from("2001:db8:1:2:ffff::3", "a3")) << "the same /64: its third account";
  EXPECT_TRUE(register_from("2001:db8:1:3::1", "b1")) << "another /64 is another client";
  EXPECT_EQ(server.stats()["refused_registrations"], 1);
}

TEST(ChatLimits, PrekeyBundlesPerAccountAreRateLimited) {
  // An account gets --bundles-per-hour bundles, and only the first bundle of
  // a target in an hour carries one of its one-time prekeys: fetching again
  // and again cannot drain them. A refusal takes none.
  RunningServer server({"--bundles-per-hour", "2"});
  ASSERT_TRUE(server.ready()) << server.process().err();
  TempDir homes;
  auto r = ferry(homes.path() + "/bob", {"register", "bob", "--server", server.link()});
  ASSERT_EQ(r.code, 0) << r.err;
  auto fetch = [](NoiseClient& c, uint64_t id) -> std::optional<ferry::chat::pb::Response> {
    ferry::chat::pb::Request req;
    req.set_id(id);
    req.mutable_fetch_bundle()->set_username("bob");
    if (!c.send(req)) return std::nullopt;
    for (int i = 0; i < 16; ++i) {
      auto answer = c.receive(5s);
      if (!answer || answer->id() == id) return answer;
    }
    return std::nullopt;
  };
  NoiseClient mallory(server.port(), server.link());
  ASSERT_TRUE(mallory.handshake());
  ASSERT_TRUE(mallory.register_as("mallory"));
  auto first = fetch(mallory, 1);
  ASSERT_TRUE(first && first->has_bundle());
  EXPECT_TRUE(first->bundle().has_one_time_prekey());
  auto second = fetch(mallory, 2);
  ASSERT_TRUE(second && second->has_bundle());
  EXPECT_FALSE(second->bundle().has_one_time_prekey()) << "a second one within the hour";
  auto third = fetch(mallory, 3);
  ASSERT_TRUE(third && third->has_error());
  EXPECT_EQ(third->error().code(), ferry::chat::pb::RATE_LIMITED);
  EXPECT_TRUE(mallory.alive(7)) << "a refused fetch is an answer, not a close";
  EXPECT_EQ(server.stats()["refused_bundles"], 1);
  EXPECT_EQ(server.stats()["bundles_served"], 2);
  // Another account has its own budget.
  NoiseClient alice(server.port(), server.link());
  ASSERT_TRUE(alice.handshake());
  ASSERT_TRUE(alice.register_as("alice"));
  auto answer = fetch(alice, 1);
  ASSERT_TRUE(answer && answer->has_bundle());
  ASSERT_TRUE(answer->bundle().has_one_time_prekey());
  EXPECT_NE(answer->bundle().one_time_prekey().id(), first->bundle().one_time_prekey().id());
}

TEST_F(BadInputTest, FloodClosesOnlyTheFlooder) {
  auto before = server_.stats()["closed_flood"];
  NoiseClient flooder(server_.port(), server_.link());
  ASSERT_TRUE(flooder.handshake());
  // Far beyond the burst of 2000, as fast as the socket takes them.
  for (int i = 1; i <= 20000; ++i)
    if (!flooder.ping(static_cast<uint64_t>(i))) break;
  EXPECT_TRUE(wait_closed(flooder.fd(), 10s));
  EXPECT_EQ(server_.stats()["closed_flood"], before + 1);
}

TEST_F(BadInputTest, BadProxyHeaderOnTheProxyListener) {
  auto before = server_.stats()["closed_bad_proxy_header"];
  net::Fd fd = connect_to("127.0.0.1", server_.proxy_port());
  ASSERT_TRUE(send_all(fd.get(), std::string("PROXY TCP9 1.2.3.4 5.6.7.8 1 2\r\n")));
  EXPECT_TRUE(wait_closed(fd.get(), 10s));
  EXPECT_EQ(server_.stats()["closed_bad_proxy_header"], before + 1);
}

TEST_F(BadInputTest, ProxyListenerTakesTheRealClientAddressForItsLimits) {
  namespace pp = ferry::net::proxy_protocol;
  auto dest = *ferry::net::SocketAddress::from_numeric("127.0.0.1", server_.proxy_port());
  auto header_from = [&](const char* ip) {
    return pp::build_v2(*ferry::net::SocketAddress::from_numeric(ip, 40000), dest);
  };
  // 64 connections from one (claimed) client fill its allowance ...
  std::vector<std::unique_ptr<NoiseClient>> held;
  for (int i = 0; i < 64; ++i) {
    held.push_back(std::make_unique<NoiseClient>(server_.proxy_port(), server_.link(),
                                                 header_from("198.51.100.7")));
    ASSERT_TRUE(held.back()->handshake()) << i;
  }
  // ... so the 65th is refused, while another address is served.
  auto before = server_.stats()["refused_per_ip"];
  NoiseClient refused(server_.proxy_port(), server_.link(), header_from("198.51.100.7"));
  EXPECT_TRUE(wait_closed(refused.fd(), 10s));
  EXPECT_EQ(server_.stats()["refused_per_ip"], before + 1);
  NoiseClient other(server_.proxy_port(), server_.link(), header_from("198.51.100.8"));
  ASSERT_TRUE(other.handshake());
  EXPECT_TRUE(other.alive());
}

}  // namespace
}  // namespace ferry::test::chat
