#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "chat/client/store.h"
#include "test_dir.h"

namespace ferry::chat::client {
namespace {

using testing::TempDir;

class ClientStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = ClientStore::open(dir_.path() + "/home", error);
    ASSERT_TRUE(store_) << error;
  }
  TempDir dir_;
  std::unique_ptr<ClientStore> store_;
};

TEST_F(ClientStoreTest, HomeAndDatabaseArePrivate) {
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() + "/home").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir_.path() + "/home/ferry.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ClientStoreTest, SettingsRoundTripBinary) {
  std::string key("\x00\x01\xff", 3);
  store_->set("login", key);
  EXPECT_EQ(store_->get("login"), key);
  store_->erase("login");
  EXPECT_FALSE(store_->get("login"));
}

TEST_F(ClientStoreTest, OutboxKeepsOrderAndStates) {
  store_->enqueue("bob", 1, OutKind::text, "b1", "one", 1);
  store_->enqueue("carol", 2, OutKind::text, "b2", "two", 2);
  auto seq3 = store_->enqueue("bob", 3, OutKind::receipt, "b3", "", 3);
  auto q = store_->queued();
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0].client_id, 1u);
  EXPECT_EQ(q[2].kind, OutKind::receipt);
  EXPECT_TRUE(q[0].sealed.empty());
  store_->seal(q[0].seq, "sealed-1");
  EXPECT_EQ(store_->queued()[0].sealed, "sealed-1");

  store_->set_state(1, OutState::sent);
  store_->set_state(3, OutState::sent);  // receipts are forgotten once sent
  EXPECT_EQ(store_->queued().size(), 1u);
  EXPECT_TRUE(store_->out_item(1));
  EXPECT_FALSE(store_->out_item(3));
  (void)seq3;
  EXPECT_EQ(store_->mark_delivered("bob", {1, 2, 99}), 1);  // 2 went to carol
  EXPECT_EQ(store_->out_item(1)->state, OutState::delivered);
  EXPECT_EQ(store_->mark_delivered("bob", {1}), 0);
}

TEST_F(ClientStoreTest, InboxRefusesDuplicatesAndShowsOnce) {
  EXPECT_TRUE(store_->add_to_inbox("alice", 7, "hi", 1, 2));
  EXPECT_FALSE(store_->add_to_inbox("alice", 7, "hi again", 1, 2));
  EXPECT_TRUE(store_->add_to_inbox("bob", 7, "other sender", 1, 2));
  EXPECT_TRUE(store_->in_inbox("alice", 7));
  auto unshown = store_->unshown();
  ASSERT_EQ(unshown.size(), 2u);
  EXPECT_EQ(unshown[0].text, "hi");
  store_->mark_shown(unshown[0].id);
  EXPECT_EQ(store_->unshown().size(), 1u);
}

TEST_F(ClientStoreTest, AcceptingANewIdentityForgetsOldSessionsAndCiphertexts) {
  store_->put_contact("bob", "old-key");
  store_->add_session("bob", "state-a");
  auto seq = store_->enqueue("bob", 1, OutKind::text, "body", "t", 1);
  store_->seal(seq, "for-old-key");
  store_->set_pending_identity("bob", "new-key");
  EXPECT_EQ(store_->contact("bob")->pending_identity_key, "new-key");
  ASSERT_TRUE(store_->accept_pending_identity("bob"));
  auto c = store_->contact("bob");
  EXPECT_EQ(c->identity_key, "new-key");
  EXPECT_TRUE(c->pending_identity_key.empty());
  EXPECT_TRUE(store_->sessions("bob").empty());
  EXPECT_TRUE(store_->queued()[0].sealed.empty());
  EXPECT_FALSE(store_->accept_pending_identity("bob"));
}

TEST_F(ClientStoreTest, SessionsNewestFirstAndBounded) {
  for (int i = 0; i < 8; ++i) store_->add_session("bob", "s" + std::to_string(i));
  auto s = store_->sessions("bob");
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(crypto::chars(s[0].state), "s7");
  store_->update_session(s[4].id, "s3-used");
  EXPECT_EQ(crypto::chars(store_->sessions("bob")[0].state), "s3-used");
}

TEST_F(ClientStoreTest, HeldEnvelopes) {
  store_->hold({0, "bob", 1, "c1"});
  store_->hold({0, "bob", 2, "c2"});
  store_->hold({0, "bob", 1, "c1"});  // the same message delivered again: ignored
  EXPECT_EQ(store_->held_senders(), std::vector<std::string>{"bob"});
  auto held = store_->held("bob");
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0].content, "c1");  // in the order they came
  EXPECT_EQ(held[1].content, "c2");
  store_->drop_held(held[0].id);
  ASSERT_EQ(store_->held("bob").size(), 1u);
  EXPECT_EQ(store_->held("bob")[0].content, "c2");
}

// The server's envelope ids start again when it loses its database: held
// messages are known by the sender's own id, so a new one is never taken
// for one already held.
TEST_F(ClientStoreTest, HeldMessagesAreKnownBySenderAndClientIdNotByTheServersId) {
  store_->hold({7, "bob", 1, "before the server lost its data"});
  store_->hold({7, "bob", 2, "after, with the same envelope id"});
  EXPECT_EQ(store_->held("bob").size(), 2u);
}

// A home made by version 1 (held by envelope id) keeps what it held.
TEST(ClientStoreMigration, HeldMessagesOfAVersion1HomeAreKept) {
  TempDir dir;
  std::string home = dir.path() + "/home";
  {
    std::string error;
    auto store = ClientStore::open(home, error);
    ASSERT_TRUE(store) << error;
    store->db().exec(
        "DROP TABLE held_messages;"
        "CREATE TABLE held(envelope_id INTEGER PRIMARY KEY, sender TEXT NOT NULL,"
        " client_id INTEGER NOT NULL, content BLOB NOT NULL);"
        "INSERT INTO held VALUES(20, 'bob', 5, 'second'), (10, 'bob', 4, 'first');"
        "PRAGMA user_version=1;");
  }
  std::string error;
  auto store = ClientStore::open(home, error);
  ASSERT_TRUE(store) << error;
  auto held = store->held("bob");
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0].content, "first");
  EXPECT_EQ(held[1].content, "second");
}

TEST_F(ClientStoreTest, ReplacedSignedPrekeysGoThirtyDaysAfterTheirReplacementUnlessKept) {
  for (uint32_t id : {1, 2}) store_->put_signed_prekey(id, "k", 0);
  store_->mark_signed_prekeys_replaced(2, 1000);  // the server hands out 2 from 1000 on
  store_->mark_signed_prekeys_replaced(2, 5000);  // the first time counts
  EXPECT_EQ(store_->drop_replaced_signed_prekeys(1000, {}), 0);
  EXPECT_EQ(store_->drop_replaced_signed_prekeys(1001, {1}), 0) << "kept for a held message";
  EXPECT_TRUE(store_->signed_prekey(1));
  EXPECT_EQ(store_->drop_replaced_signed_prekeys(1001, {}), 1);
  EXPECT_FALSE(store_->signed_prekey(1));
  EXPECT_TRUE(store_->signed_prekey(2)) << "the current one is never replaced";
  // A key made but not yet handed out is not replaced by anything.
  store_->put_signed_prekey(3, "k", 2000);
  EXPECT_EQ(store_->drop_replaced_signed_prekeys(1'000'000, {}), 0);
  EXPECT_TRUE(store_->signed_prekey(2));
}

TEST_F(ClientStoreTest, HeldEnvelopesAreBoundedPerSenderAndInAll) {
  uint64_t id = 1;
  for (int i = 0; i < ClientStore::kMaxHeldPerSender; ++i)
    ASSERT_TRUE(store_->hold({id++, "bob", id, "c"}));
  EXPECT_FALSE(store_->hold({id++, "bob", id, "c"})) << "bob's share is full";
  EXPECT_TRUE(store_->hold({1, "bob", 2, "c"})) << "one already held is no new one";
  EXPECT_EQ(store_->held("bob").size(), size_t{ClientStore::kMaxHeldPerSender});
  // Others still get theirs, up to the bound on all.
  int accepted = 0;
  for (int s = 0; s < 8; ++s) {
    for (int i = 0; i < ClientStore::kMaxHeldPerSender; ++i)
      accepted += store_->hold({id++, "user" + std::to_string(s), id, "c"}) ? 1 : 0;
  }
  EXPECT_EQ(accepted, ClientStore::kMaxHeld - ClientStore::kMaxHeldPerSender);
  store_->drop_held(store_->held("bob")[0].id);
  EXPECT_TRUE(store_->hold({id++, "bob", id, "c"})) << "room again once one left";
}

// A deleted one-time prekey or a replaced ratchet state must not stay in the
// database file's free space: forward secrecy ends at whatever a stolen
// laptop's disk still holds.
TEST_F(ClientStoreTest, DeletedKeysAndReplacedSessionStatesLeaveNoTraceInTheFile) {
  const std::string kept(40, 'K'), deleted(40, 'D'), old_state(48, 'O'), new_state(56, 'N');
  store_->put_one_time_prekey(1, kept);
  store_->put_one_time_prekey(2, deleted);
  auto id = store_->add_session("bob", old_state);
  store_->delete_one_time_prekey(2);
  store_->update_session(id, new_state);
  store_.reset();  // closing checkpoints the WAL into ferry.db and removes it
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/home/ferry.db-wal"))
      << "the write-ahead log, with older page images, outlived the store";

  std::ifstream f(dir_.path() + "/home/ferry.db", std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_NE(file.find(kept), std::string::npos) << "the scan would not see a key";
  ASSERT_NE(file.find(new_state), std::string::npos);
  EXPECT_EQ(file.find(deleted), std::string::npos) << "a deleted one-time prekey is in the file";
  EXPECT_EQ(file.find(old_state), std::string::npos) << "a replaced session state is in the file";
}

TEST_F(ClientStoreTest, ACheckpointEmptiesTheLogOfOlderPagesWhileTheStoreStaysOpen) {
  // What `ferry chat` does every ping interval: deleted keys must not wait
  // in ferry.db-wal until the command ends.
  const std::string deleted(40, 'D');
  store_->put_one_time_prekey(7, deleted);
  store_->delete_one_time_prekey(7);
  const std::string wal = dir_.path() + "/home/ferry.db-wal";
  auto holds = [&](const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return bytes.find(deleted) != std::string::npos;
  };
  ASSERT_TRUE(holds(wal)) << "the log does not show the problem this solves";
  store_->checkpoint();
  EXPECT_EQ(std::filesystem::file_size(wal), 0u);
  EXPECT_FALSE(holds(dir_.path() + "/home/ferry.db"));
  store_->put_one_time_prekey(8, "still usable");
  EXPECT_EQ(crypto::chars(*store_->one_time_prekey(8)), "still usable");
}

}  // namespace
}  // namespace ferry::chat::client
