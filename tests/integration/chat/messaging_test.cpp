// The scriptable contract of `ferry` against a real ferry-server.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "chat/db/sqlite.h"
#include "chat/wire/links.h"
#include "chat_fixture.h"
#include "noise_client.h"

namespace ferry::test::chat {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
}

// A home's or the server's database, opened beside its processes: what a
// test reads or changes behind their backs (time passing, a lying server).
std::unique_ptr<ferry::chat::db::Database> open_db(const std::string& path) {
  std::string error;
  auto db = ferry::chat::db::Database::open(path, "FULL", error);
  EXPECT_TRUE(db) << path << ": " << error;
  return db;
}

// The signed prekeys a home holds: id -> created_ms; and making them older,
// as if that much time had passed (the client reads the clock, not a flag).
std::map<int64_t, int64_t> signed_prekeys_in(const std::string& home) {
  auto db = open_db(home + "/ferry.db");
  std::map<int64_t, int64_t> out;
  if (!db) return out;
  auto st = db->prepare("SELECT id, created_ms FROM signed_prekeys");
  while (st.step()) out[st.int64(0)] = st.int64(1);
  return out;
}
void age_signed_prekeys(const std::string& home, int64_t days) {
  auto db = open_db(home + "/ferry.db");
  ASSERT_TRUE(db);
  for (const char* sql : {"UPDATE signed_prekeys SET created_ms = created_ms - ?1",
                          "UPDATE signed_prekeys_replaced SET replaced_ms = replaced_ms - ?1"}) {
    auto st = db->prepare(sql);
    st.bind(1, days * 24 * 3600 * 1000);
    st.step();
  }
}

TEST_F(ChatTest, ServerKeyAndLinkOnDisk) {
  std::string dir = server_->data_dir();
  EXPECT_EQ(mode_of(dir + "/server.key"), 0600u);
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_EQ(read_file(dir + "/server.link"), server_->link() + "\n");
  EXPECT_EQ(
      server_->link().rfind(
          "ferry://server?host=127.0.0.1&port=" + std::to_string(server_->port()) + "&key=", 0),
      0u);
  // The same key (and link) after a restart.
  std::string link = server_->link();
  server_->restart();
  ASSERT_TRUE(server_->ready());
  EXPECT_EQ(server_->link(), link);
}

// Regression: an exception out of main (std::system_error when the store
// thread cannot get its stack) ended in std::terminate, SIGABRT and a core dump.
TEST(ChatServer, AStartThatRunsOutOfMemoryEndsWithOneLineAndExitCode1) {
  TempDir dir;
  auto r = run_without_memory(
      "ferry-server",
      {"--listen", "127.0.0.1:" + std::to_string(free_port()), "--data", dir.path() + "/srv"});
  ASSERT_TRUE(r.status.has_value()) << r.err;
  EXPECT_EQ(*r.status, 1) << r.err;
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ferry-server: fatal: "), std::string::npos) << r.err;
}

// A stored proxy that no longer parses (a damaged home, or a spelling an
// older client accepted) used to be skipped silently: the client went
// straight to the server, in plain sight of a censor. Now it stops.
TEST_F(ChatTest, ADamagedStoredProxyStopsTheClientInsteadOfGoingDirect) {
  register_user("alice");
  register_user("bob");
  {
    auto db = open_db(home("alice") + "/ferry.db");
    ASSERT_TRUE(db);
    auto st = db->prepare("INSERT OR REPLACE INTO settings(key, value) VALUES('proxy', ?1)");
    st.bind_blob(1, std::string("%07:443"));
    st.step();
  }
  const long before = server_->stats()["accepted"];
  auto r = ferry(home("alice"), {"send", "bob", "hello"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("the stored proxy is damaged"), std::string::npos) << r.err;
  EXPECT_EQ(server_->stats()["accepted"], before) << "the client connected directly";
  // --proxy none is the way back to a direct connection.
  EXPECT_EQ(ferry(home("alice"), {"--proxy", "none", "send", "bob", "hello"}).code, 0);
}

// The public host goes into the link as it is: one that the link cannot
// carry (the client would refuse the link) stops the start instead.
TEST(ChatServer, APublicHostTheLinkCannotCarryIsRefused) {
  for (const char* host : {"a&b", "[::1]", "example.org:7000", "fe80::1%eth0", "a b"}) {
    TempDir dir;
    Process p(binary("ferry-server"),
              {"--listen", "127.0.0.1:" + std::to_string(free_port()), "--data",
               dir.path() + "/srv", "--public-host", host},
              dir.path());
    auto status = p.wait_exit(10s);
    ASSERT_TRUE(status.has_value()) << host << ": " << p.err();
    EXPECT_EQ(*status, 2) << host << ": " << p.err();
    EXPECT_NE(p.err().find("--public-host"), std::string::npos) << p.err();
  }
  RunningServer ok({"--public-host", "2001:db8::7"});
  ASSERT_TRUE(ok.ready()) << ok.process().err();
  std::string error;
  auto link = ferry::chat::ServerLink::parse(ok.link(), error);
  ASSERT_TRUE(link) << error;
  EXPECT_EQ(link->address.host, "2001:db8::7");
}

TEST_F(ChatTest, SendAndReceiveInOrderExactlyOnce) {
  register_user("alice");
  register_user("bob");
  for (int i = 1; i <= 5; ++i) {
    auto r = ferry(home("alice"), {"send", "bob", "hello " + std::to_string(i)});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  auto r = ferry(home("bob"), {"receive"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out),
            (std::vector<std::string>{"alice: hello 1", "alice: hello 2", "alice: hello 3",
                                      "alice: hello 4", "alice: hello 5"}));
  auto again = ferry(home("bob"), {"receive"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out, "");
  // And back: bob's reply uses the session alice started.
  ASSERT_EQ(ferry(home("bob"), {"send", "alice", "hi\nthere"}).code, 0);
  auto back = ferry(home("alice"), {"receive"});
  ASSERT_EQ(back.code, 0) << back.err;
  EXPECT_EQ(back.out, "bob: hi\\nthere\n");

  // Client files are private.
  EXPECT_EQ(mode_of(home("alice")), 0700u);
  EXPECT_EQ(mode_of(home("alice") + "/ferry.db"), 0600u);
  auto stats = server_->stats();
  EXPECT_GE(stats["envelopes_stored"], 6);
  EXPECT_EQ(stats["envelopes_duplicate"], 0);
}

TEST_F(ChatTest, RegistrationErrors) {
  register_user("alice");
  // Idempotent.
  EXPECT_EQ(ferry(home("alice"), {"register", "alice", "--server", server_->link()}).code, 0);
  auto taken = ferry(home("eve"), {"register", "alice", "--server", server_->link()});
  EXPECT_NE(taken.code, 0);
  EXPECT_NE(taken.err.find("username taken"), std::string::npos) << taken.err;
  auto bad = ferry(home("x"), {"register", "Not Valid", "--server", server_->link()});
  EXPECT_EQ(bad.code, 2);
  auto unregistered = ferry(home("nobody"), {"send", "alice", "hi"});
  EXPECT_EQ(unregistered.code, 1);
  EXPECT_EQ(lines(unregistered.err).size(), 1u) << unregistered.err;
}

TEST_F(ChatTest, UnknownUserIsOneLineAndExitFour) {
  register_user("alice");
  auto r = ferry(home("alice"), {"send", "carol", "hi"});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "ferry: unknown user: carol\n");
}

TEST_F(ChatTest, UnreachableServerKeepsTheMessageForTheNextRun) {
  register_user("alice");
  register_user("bob");
  server_->kill9();
  auto r = ferry(home("alice"), {"send", "bob", "while down"});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("server unreachable"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("kept in the outbox"), std::string::npos) << r.err;
  server_->start();
  ASSERT_TRUE(server_->ready());
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "after"}).code, 0);
  auto got = ferry(home("bob"), {"receive"});
  ASSERT_EQ(got.code, 0) << got.err;
  EXPECT_EQ(got.out, "alice: while down\nalice: after\n");
}

TEST_F(ChatTest, ReceiveWaitsForAMessage) {
  register_user("alice");
  register_user("bob");
  TempDir logs;
  Process waiting(binary("ferry"), {"--home", home("bob"), "receive", "--wait", "30"}, logs.path());
  // Bob is connected and waiting once the server sees him online.
  ASSERT_TRUE(wait_until([&] { return server_->stats()["online"] >= 1; }, 20s));
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "ping"}).code, 0);
  auto status = waiting.wait_exit(20s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << waiting.err();
  EXPECT_EQ(waiting.out(), "alice: ping\n");
}

TEST_F(ChatTest, SafetyNumbersMatchAndAChangedIdentityIsRefusedUntilAccepted) {
  register_user("alice");
  register_user("bob");
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "one"}).code, 0);
  ASSERT_EQ(ferry(home("bob"), {"receive"}).code, 0);
  auto a = ferry(home("alice"), {"safety-number", "bob"});
  auto b = ferry(home("bob"), {"safety-number", "alice"});
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out.size(), 12u * 5 + 11 + 1);  // 12 groups of 5 digits

  // Bob loses his phone: the server forgets him (a new database, same key)
  // and he registers again with a new identity.
  lose_phone("bob");
  ferry(home("alice"), {"register", "alice", "--server", server_->link()});

  auto refused = ferry(home("alice"), {"send", "bob", "secret"});
  EXPECT_EQ(refused.code, 5) << refused.err;
  EXPECT_NE(refused.err.find("identity key of bob changed"), std::string::npos) << refused.err;
  // The new bob writes first: alice's client holds it back.
  ASSERT_EQ(ferry(home("bob"), {"send", "alice", "new phone, same bob"}).code, 0);
  auto held = ferry(home("alice"), {"receive"});
  EXPECT_EQ(held.code, 5) << held.err;
  EXPECT_EQ(held.out, "");
  EXPECT_NE(held.err.find("messages are held"), std::string::npos) << held.err;
  // Still refused, and a later message waits behind it, with the same reason.
  auto again = ferry(home("alice"), {"send", "bob", "secret 2"});
  EXPECT_EQ(again.code, 5) << again.err;
  auto changed = ferry(home("alice"), {"safety-number", "bob"});
  EXPECT_EQ(changed.code, 5);
  EXPECT_NE(changed.err.find("CHANGED"), std::string::npos);
  EXPECT_NE(changed.out, a.out);
  auto accepted = ferry(home("alice"), {"safety-number", "bob", "--accept"});
  EXPECT_EQ(accepted.code, 0) << accepted.err;
  EXPECT_EQ(accepted.out, ferry(home("bob"), {"safety-number", "alice"}).out);
  // What was held is shown now.
  auto released = ferry(home("alice"), {"receive"});
  EXPECT_EQ(released.code, 0) << released.err;
  EXPECT_EQ(released.out, "bob: new phone, same bob\n");
  // The message that waited in the outbox goes now, to the new bob only.
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "after accept"}).code, 0);
  auto got = ferry(home("bob"), {"receive"});
  ASSERT_EQ(got.code, 0) << got.err;
  EXPECT_EQ(got.out, "alice: secret\nalice: secret 2\nalice: after accept\n");
}

// Held messages were acknowledged when they were held: the server has
// forgotten them, so the held table is their only copy. Opening them once
// the new identity is accepted must take them out of it in the same
// transaction that stores them; a failure in between (a trigger that fails
// every insert plays a broken disk here) leaves them held for the next run.
TEST_F(ChatTest, AHeldMessageSurvivesAFailureWhileItIsOpened) {
  register_user("alice");
  register_user("bob");
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "one"}).code, 0);
  ASSERT_EQ(ferry(home("bob"), {"receive"}).code, 0);
  lose_phone("bob");
  ASSERT_EQ(ferry(home("alice"), {"register", "alice", "--server", server_->link()}).code, 0);
  ASSERT_EQ(ferry(home("bob"), {"send", "alice", "new phone, same bob"}).code, 0);
  ASSERT_EQ(ferry(home("alice"), {"receive"}).code, 5);  // held
  ASSERT_EQ(ferry(home("alice"), {"safety-number", "bob", "--accept"}).code, 0);

  auto db = open_db(home("alice") + "/ferry.db");
  ASSERT_TRUE(db);
  auto held_rows = [&] {
    auto st = db->prepare("SELECT count(*) FROM held_messages");
    return st.step() ? st.int64(0) : -1;
  };
  ASSERT_EQ(held_rows(), 1);
  db->exec(
      "CREATE TRIGGER broken_disk BEFORE INSERT ON inbox "
      "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
  auto failed = ferry(home("alice"), {"receive"});
  EXPECT_NE(failed.code, 0) << failed.err;
  EXPECT_EQ(failed.out, "") << failed.err;
  EXPECT_EQ(held_rows(), 1) << "the held message left the table without being stored";

  db->exec("DROP TRIGGER broken_disk");
  auto released = ferry(home("alice"), {"receive"});
  EXPECT_EQ(released.code, 0) << released.err;
  EXPECT_EQ(released.out, "bob: new phone, same bob\n");
  EXPECT_EQ(held_rows(), 0);
}

// `register` may be run again (it is idempotent), and a server that lost its
// database needs keys again: neither may hand out a one-time prekey a second
// time, or one of the two first messages made with it cannot be opened.
TEST_F(ChatTest, RegisteringAgainNeverOffersAOneTimePrekeyTwice) {
  register_user("alice");
  register_user("bob");
  register_user("carol");
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "from alice"}).code, 0);  // takes bob's first
  register_user("bob");  // bob registers again before reading it
  ASSERT_EQ(ferry(home("carol"), {"send", "bob", "from carol"}).code, 0);
  auto r = ferry(home("bob"), {"receive"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "alice: from alice\ncarol: from carol\n");
  EXPECT_EQ(r.err, "");
}

// While a contact's new key waits to be accepted, a message the session
// with the accepted key opens is shown at once: it is from that key's owner,
// and accepting the new key deletes the session that could open it.
TEST_F(ChatTest, AMessageTheTrustedSessionOpensIsShownWhileANewKeyWaits) {
  register_user("alice");
  register_user("bob");
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "one"}).code, 0);
  ASSERT_EQ(ferry(home("bob"), {"receive"}).code, 0);
  ASSERT_EQ(ferry(home("bob"), {"send", "alice", "two"}).code, 0);
  ASSERT_EQ(ferry(home("alice"), {"receive"}).out, "bob: two\n");
  ASSERT_EQ(ferry(home("bob"), {"send", "alice", "sent before the new key"}).code, 0);
  {
    // Alice has seen a new key for bob (how does not matter here: a bundle
    // or a first message from a new install): it waits for her to accept it.
    auto db = open_db(home("alice") + "/ferry.db");
    ASSERT_TRUE(db);
    db->exec("UPDATE contacts SET pending_identity_key = randomblob(32) WHERE username = 'bob'");
  }
  auto r = ferry(home("alice"), {"receive"});
  EXPECT_EQ(r.out, "bob: sent before the new key\n") << r.err;
}

TEST_F(ChatTest, TheSignedPrekeyIsReplacedWeeklyAndTheOldOneStillOpensLateFirstMessages) {
  register_user("alice");
  register_user("bob");
  register_user("carol");
  // carol's first message to bob is sealed with his first signed prekey.
  ASSERT_EQ(ferry(home("carol"), {"send", "bob", "sealed with key 1"}).code, 0);
  ASSERT_EQ(signed_prekeys_in(home("bob")).size(), 1u);

  // A week later bob's client makes and uploads key 2, and keeps key 1 for
  // what is still on its way.
  age_signed_prekeys(home("bob"), 8);
  auto got = ferry(home("bob"), {"receive"});
  ASSERT_EQ(got.code, 0) << got.err;
  EXPECT_EQ(got.out, "carol: sealed with key 1\n");
  auto keys = signed_prekeys_in(home("bob"));
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_TRUE(keys.contains(1) && keys.contains(2));

  // The server hands out key 2 now (checked against bob's identity key when
  // it was uploaded), and a session begun with it works.
  NoiseClient eve(server_->port(), server_->link());
  ASSERT_TRUE(eve.handshake());
  ASSERT_TRUE(eve.register_as("eve"));
  ferry::chat::pb::Request fetch;
  fetch.set_id(7);
  fetch.mutable_fetch_bundle()->set_username("bob");
  ASSERT_TRUE(eve.send(fetch));
  auto bundle = eve.receive(5s);
  ASSERT_TRUE(bundle && bundle->has_bundle());
  EXPECT_EQ(bundle->bundle().signed_prekey().id(), 2u);
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "sealed with key 2"}).code, 0);
  got = ferry(home("bob"), {"receive"});
  EXPECT_EQ(got.out, "alice: sealed with key 2\n") << got.err;

  // Another five weeks: key 3, and key 1, replaced more than 30 days ago, is gone.
  age_signed_prekeys(home("bob"), 35);
  ASSERT_EQ(ferry(home("bob"), {"receive"}).code, 0);
  keys = signed_prekeys_in(home("bob"));
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_TRUE(keys.contains(2) && keys.contains(3)) << "ids: " << keys.begin()->first;
  // And the sessions already made go on.
  ASSERT_EQ(ferry(home("carol"), {"send", "bob", "still here"}).code, 0);
  got = ferry(home("bob"), {"receive"});
  EXPECT_EQ(got.out, "carol: still here\n") << got.err;
}

TEST_F(ChatTest, ASignedPrekeyAHeldFirstMessageNeedsOutlivesItsThirtyDays) {
  register_user("alice");
  register_user("bob");
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "hi"}).code, 0);
  ASSERT_EQ(ferry(home("bob"), {"receive"}).code, 0);  // bob pins alice's identity
  // alice loses her phone and registers again with a new identity; bob's
  // client puts his prekeys back.
  lose_phone("alice");
  register_user("bob");
  // Her first message is sealed with bob's signed prekey 1, and held.
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "new phone"}).code, 0);
  auto held = ferry(home("bob"), {"receive"});
  EXPECT_NE(held.err.find("messages are held"), std::string::npos) << held.err;
  // Key 2 replaces key 1, and five weeks pass before bob looks.
  age_signed_prekeys(home("bob"), 8);
  ferry(home("bob"), {"receive"});
  age_signed_prekeys(home("bob"), 35);
  ferry(home("bob"), {"receive"});
  EXPECT_TRUE(signed_prekeys_in(home("bob")).contains(1)) << "the held message needs key 1";
  EXPECT_TRUE(signed_prekeys_in(home("bob")).contains(3));
  ASSERT_EQ(ferry(home("bob"), {"safety-number", "alice", "--accept"}).code, 0);
  auto released = ferry(home("bob"), {"receive"});
  EXPECT_EQ(released.code, 0) << released.err;
  EXPECT_EQ(released.out, "alice: new phone\n") << released.err;
}

// The server names each envelope's sender, and the client prints the name:
// a server that lies (its database edited here) could make a name with a
// newline or escape codes pass for another line. The client drops such an
// envelope with a warning, and acknowledges it so it does not come back.
TEST_F(ChatTest, AnEnvelopeFromANameNoAccountCanHaveIsDroppedNotPrinted) {
  register_user("alice");
  register_user("bob");
  ASSERT_EQ(ferry(home("bob"), {"send", "alice", "hello"}).code, 0);
  server_->kill9();
  {
    auto db = open_db(server_->data_dir() + "/server.db");
    ASSERT_TRUE(db);
    auto st = db->prepare("UPDATE accounts SET username = ?1 WHERE username = 'bob'");
    st.bind(1, std::string_view("bob: hello\n\x1b[2Jcarol"));
    st.step();
  }
  server_->start();
  ASSERT_TRUE(server_->ready()) << server_->process().err();

  auto r = ferry(home("alice"), {"receive", "--wait", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("1 message(s) named an impossible sender and were dropped"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "an escape code reached the terminal";
  auto again = ferry(home("alice"), {"receive", "--wait", "0"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out, "");
  EXPECT_EQ(again.err.find("impossible sender"), std::string::npos)
      << "it came back: " << again.err;
}

TEST_F(ChatTest, ChatShowsIncomingMessagesAndDeliveryState) {
  register_user("alice");
  register_user("bob");
  ChatSession bob(home("bob"), "alice");
  ASSERT_TRUE(bob.started());
  ASSERT_TRUE(wait_until([&] { return server_->stats()["online"] >= 1; }, 20s)) << bob.err();
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "are you there?"}).code, 0);
  EXPECT_TRUE(bob.shows("alice: are you there?\n")) << bob.out() << bob.err();
  ASSERT_TRUE(bob.type("yes, here"));
  EXPECT_TRUE(bob.shows("[sent] yes, here")) << bob.out();
  // Alice reads it; her client sends a receipt; bob's chat shows delivery.
  auto got = ferry(home("alice"), {"receive"});
  EXPECT_EQ(got.out, "bob: yes, here\n");
  EXPECT_TRUE(bob.shows("[delivered] 1 message to alice")) << bob.out();
  bob.close_input();
  EXPECT_EQ(bob.wait_exit(20s), 0) << bob.err();
}

TEST_F(ChatTest, ChatReconnectsWhenTheServerComesBackAndLosesNothingTypedMeanwhile) {
  register_user("alice");
  register_user("bob");
  ChatSession bob(home("bob"), "alice");
  ASSERT_TRUE(bob.started());
  ASSERT_TRUE(wait_until([&] { return server_->stats()["online"] >= 1; }, 20s)) << bob.err();

  server_->kill9();
  EXPECT_TRUE(bob.says("reconnecting]")) << bob.err();
  ASSERT_TRUE(bob.type("typed while the server was down"));
  server_->start();
  ASSERT_TRUE(server_->ready());
  // Pauses of 1, 2, 4 ... s between attempts: well within the bound.
  EXPECT_TRUE(bob.says("[online]", 30s)) << bob.err();
  EXPECT_TRUE(bob.shows("[sent] typed while the server was down")) << bob.out() << bob.err();

  auto got = ferry(home("alice"), {"receive"});
  EXPECT_EQ(got.out, "bob: typed while the server was down\n") << got.err;
  // And the other way, on the new connection.
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "welcome back"}).code, 0);
  EXPECT_TRUE(bob.shows("alice: welcome back\n")) << bob.out() << bob.err();
  bob.close_input();
  EXPECT_EQ(bob.wait_exit(20s), 0) << bob.err();
}

}  // namespace
}  // namespace ferry::test::chat
