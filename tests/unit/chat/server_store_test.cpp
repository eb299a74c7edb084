#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "chat/server/store.h"
#include "test_dir.h"

namespace ferry::chat::server {
namespace {

using testing::TempDir;

class ServerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }
  void reopen(StoreLimits limits = {}) {
    store_.reset();
    std::string error;
    store_ = ServerStore::open(dir_.file("server.db"), "FULL", limits, error);
    ASSERT_TRUE(store_) << error;
  }
  // Every call runs inside a transaction, as the worker does it.
  template <typename F>
  auto tx(F f) {
    db::Transaction t(store_->db());
    auto r = f(*store_);
    t.commit();
    return r;
  }
  int64_t make(const std::string& name) {
    auto r = tx(
        [&](ServerStore& s) { return s.register_account("login-" + name, name, "id-" + name, 1); });
    EXPECT_EQ(r.status, ServerStore::RegisterStatus::created);
    return r.account.id;
  }

  TempDir dir_;
  std::unique_ptr<ServerStore> store_;
};

TEST_F(ServerStoreTest, DatabaseFileIsPrivate) {
  struct stat st {};
  ASSERT_EQ(::stat(dir_.file("server.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ServerStoreTest, RegistrationRules) {
  auto a = make("alice");
  using RS = ServerStore::RegisterStatus;
  auto again =
      tx([](ServerStore& s) { return s.register_account("login-alice", "alice", "id-alice", 2); });
  EXPECT_EQ(again.status, RS::unchanged);
  EXPECT_EQ(again.account.id, a);
  auto other_name =
      tx([](ServerStore& s) { return s.register_account("login-alice", "al", "id-alice", 2); });
  EXPECT_EQ(other_name.status, RS::login_has_other_name);
  auto taken =
      tx([](ServerStore& s) { return s.register_account("login-eve", "alice", "id-eve", 2); });
  EXPECT_EQ(taken.status, RS::username_taken);
  auto found = tx([](ServerStore& s) { return s.account_by_login("login-alice"); });
  ASSERT_TRUE(found);
  EXPECT_EQ(found->username, "alice");
  EXPECT_EQ(found->identity_key, "id-alice");
}

TEST_F(ServerStoreTest, OneTimePrekeysAreHandedOutOnceThenTheSignedPrekeyAlone) {
  auto bob = make("bob");
  pb::UploadPrekeys up;
  auto* spk = up.mutable_signed_prekey();
  spk->set_id(9);
  spk->set_public_key("spk");
  spk->set_signature("sig");
  for (uint32_t i = 1; i <= 2; ++i) {
    auto* k = up.add_one_time_prekeys();
    k->set_id(i);
    k->set_public_key("otk" + std::to_string(i));
  }
  EXPECT_EQ(tx([&](ServerStore& s) { return s.store_prekeys(bob, up); }), 2u);

  auto b1 = tx([](ServerStore& s) { return s.take_bundle("bob"); });
  ASSERT_EQ(b1.status, ServerStore::BundleStatus::ok);
  EXPECT_EQ(b1.bundle.identity_key(), "id-bob");
  EXPECT_EQ(b1.bundle.signed_prekey().id(), 9u);
  ASSERT_TRUE(b1.bundle.has_one_time_prekey());
  EXPECT_EQ(b1.bundle.one_time_prekey().id(), 1u);
  EXPECT_EQ(b1.remaining, 1u);
  auto b2 = tx([](ServerStore& s) { return s.take_bundle("bob"); });
  EXPECT_EQ(b2.bundle.one_time_prekey().id(), 2u);
  EXPECT_EQ(b2.remaining, 0u);
  auto b3 = tx([](ServerStore& s) { return s.take_bundle("bob"); });
  ASSERT_EQ(b3.status, ServerStore::BundleStatus::ok);
  EXPECT_FALSE(b3.bundle.has_one_time_prekey());
  EXPECT_EQ(b3.bundle.signed_prekey().public_key(), "spk");

  EXPECT_EQ(tx([](ServerStore& s) { return s.take_bundle("nobody"); }).status,
            ServerStore::BundleStatus::unknown_user);
  make("carol");
  EXPECT_EQ(tx([](ServerStore& s) { return s.take_bundle("carol"); }).status,
            ServerStore::BundleStatus::no_signed_prekey);
}

TEST_F(ServerStoreTest, OneTimePrekeysAreCapped) {
  reopen(StoreLimits{3, 100});
  auto bob = make("bob");
  pb::UploadPrekeys up;
  for (uint32_t i = 1; i <= 5; ++i) {
    auto* k = up.add_one_time_prekeys();
    k->set_id(i);
    k->set_public_key("k");
  }
  EXPECT_EQ(tx([&](ServerStore& s) { return s.store_prekeys(bob, up); }), 3u);
}

TEST_F(ServerStoreTest, AFullPrekeyStockStillTakesReplacements) {
  reopen(StoreLimits{3, 100});
  auto bob = make("bob");
  auto upload = [&](std::vector<uint32_t> ids, const std::string& key) {
    pb::UploadPrekeys up;
    up.mutable_signed_prekey()->set_id(9);  // a bundle needs one
    up.mutable_signed_prekey()->set_public_key("spk");
    up.mutable_signed_prekey()->set_signature("sig");
    for (uint32_t id : ids) {
      auto* k = up.add_one_time_prekeys();
      k->set_id(id);
      k->set_public_key(key);
    }
    return tx([&](ServerStore& s) { return s.store_prekeys(bob, up); });
  };
  EXPECT_EQ(upload({1, 2}, "old"), 2u);
  // A replacement ahead of a new id does not use up the last place.
  EXPECT_EQ(upload({1, 3}, "new"), 3u);
  EXPECT_EQ(upload({2, 4}, "new"), 3u) << "4 is one too many; 2 is replaced";
  std::map<uint32_t, std::string> held;
  for (int i = 0; i < 3; ++i) {
    auto r = tx([](ServerStore& s) { return s.take_bundle("bob"); });
    if (r.bundle.has_one_time_prekey())
      held[r.bundle.one_time_prekey().id()] = r.bundle.one_time_prekey().public_key();
  }
  EXPECT_EQ(held, (std::map<uint32_t, std::string>{{1, "new"}, {2, "new"}, {3, "new"}}));
}

TEST_F(ServerStoreTest, EnvelopesQueueInOrderAndResendsAreStoredOnce) {
  auto alice = make("alice");
  auto bob = make("bob");
  using ES = ServerStore::EnqueueStatus;
  std::vector<int64_t> ids;
  for (uint64_t c = 1; c <= 5; ++c) {
    auto r =
        tx([&](ServerStore& s) { return s.enqueue(alice, "bob", c, "m" + std::to_string(c), 10); });
    ASSERT_EQ(r.status, ES::stored);
    EXPECT_EQ(r.recipient_id, bob);
    ids.push_back(r.envelope_id);
  }
  auto dup = tx([&](ServerStore& s) { return s.enqueue(alice, "bob", 3, "m3", 11); });
  EXPECT_EQ(dup.status, ES::duplicate);
  EXPECT_EQ(dup.envelope_id, ids[2]);
  EXPECT_EQ(tx([&](ServerStore& s) { return s.enqueue(alice, "nobody", 99, "x", 1); }).status,
            ES::unknown_recipient);

  auto page = tx([&](ServerStore& s) { return s.load(bob, 0, 3); });
  ASSERT_EQ(page.size(), 3u);
  EXPECT_EQ(page[0].content, "m1");
  EXPECT_EQ(page[0].sender, "alice");
  EXPECT_EQ(page[0].client_id, 1u);
  auto rest = tx([&](ServerStore& s) { return s.load(bob, page.back().id, 10); });
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[1].content, "m5");
  EXPECT_TRUE(tx([&](ServerStore& s) { return s.load(alice, 0, 10); }).empty());
}

TEST_F(ServerStoreTest, AckDeletesOnlyTheRecipientsOwnEnvelopes) {
  auto alice = make("alice");
  auto bob = make("bob");
  auto e1 = tx([&](ServerStore& s) { return s.enqueue(alice, "bob", 1, "a", 1); }).envelope_id;
  auto e2 = tx([&](ServerStore& s) { return s.enqueue(bob, "alice", 2, "b", 1); }).envelope_id;
  std::vector<uint64_t> both{static_cast<uint64_t>(e1), static_cast<uint64_t>(e2), 999,
                             ~uint64_t{0}};
  EXPECT_EQ(tx([&](ServerStore& s) { return s.ack(bob, both); }), 1u);
  EXPECT_TRUE(tx([&](ServerStore& s) { return s.load(bob, 0, 10); }).empty());
  EXPECT_EQ(tx([&](ServerStore& s) { return s.load(alice, 0, 10); }).size(), 1u);
  EXPECT_EQ(tx([&](ServerStore& s) { return s.queue_length(alice); }), 1);
}

TEST_F(ServerStoreTest, QueueLimitRefusesThenAcceptsAfterAcks) {
  reopen(StoreLimits{1000, 2});
  auto alice = make("alice");
  auto bob = make("bob");
  using ES = ServerStore::EnqueueStatus;
  auto e1 = tx([&](ServerStore& s) { return s.enqueue(alice, "bob", 1, "a", 1); });
  tx([&](ServerStore& s) { return s.enqueue(alice, "bob", 2, "a", 1); });
  EXPECT_EQ(tx([&](ServerStore& s) { return s.enqueue(alice, "bob", 3, "a", 1); }).status,
            ES::queue_full);
  std::vector<uint64_t> ack{static_cast<uint64_t>(e1.envelope_id)};
  tx([&](ServerStore& s) { return s.ack(bob, ack); });
  EXPECT_EQ(tx([&](ServerStore& s) { return s.enqueue(alice, "bob", 3, "a", 1); }).status,
            ES::stored);
}

TEST_F(ServerStoreTest, BytesAreCappedPerRecipientAndPerSenderUntilAcknowledged) {
  StoreLimits limits;
  limits.max_queue_bytes = 10;
  limits.max_sender_bytes = 15;
  reopen(limits);
  auto alice = make("alice");
  auto bob = make("bob");
  make("carol");
  make("dave");
  using ES = ServerStore::EnqueueStatus;
  auto send = [&](const char* to, uint64_t cid, size_t n) {
    return tx([&](ServerStore& s) { return s.enqueue(alice, to, cid, std::string(n, 'x'), 1); });
  };
  auto first = send("bob", 1, 6);
  EXPECT_EQ(first.status, ES::stored);
  EXPECT_EQ(send("bob", 2, 5).status, ES::queue_full);  // bob's queue: 11 > 10
  EXPECT_EQ(send("carol", 3, 6).status, ES::stored);    // alice: 12 of 15
  EXPECT_EQ(send("carol", 4, 4).status, ES::sender_quota);
  EXPECT_EQ(send("carol", 3, 6).status, ES::duplicate) << "a resend is answered, not refused";

  std::vector<uint64_t> ack{static_cast<uint64_t>(first.envelope_id)};
  tx([&](ServerStore& s) { return s.ack(bob, ack); });
  EXPECT_EQ(tx([&](ServerStore& s) { return s.sender_bytes(alice); }), 6);
  EXPECT_EQ(tx([&](ServerStore& s) { return s.queue_bytes(bob); }), 0);
  EXPECT_EQ(send("carol", 4, 4).status, ES::stored);  // alice: 10 of 15

  reopen(limits);  // the sums come from the database again
  EXPECT_EQ(tx([&](ServerStore& s) { return s.sender_bytes(alice); }), 10);
  EXPECT_EQ(tx([&](ServerStore& s) { return s.queue_bytes(bob); }), 0);
  EXPECT_EQ(send("dave", 5, 6).status, ES::sender_quota);
  EXPECT_EQ(send("dave", 6, 5).status, ES::stored);
}

TEST_F(ServerStoreTest, SendsAreRefusedWhenTheDiskIsNearlyFull) {
  StoreLimits limits;
  limits.min_free_disk = UINT64_MAX;  // no disk has that much free
  reopen(limits);
  auto alice = make("alice");
  make("bob");
  EXPECT_EQ(tx([&](ServerStore& s) { return s.enqueue(alice, "bob", 1, "a", 1); }).status,
            ServerStore::EnqueueStatus::storage_full);
  limits.min_free_disk = 0;  // no check
  reopen(limits);
  EXPECT_EQ(tx([&](ServerStore& s) { return s.enqueue(alice, "bob", 1, "a", 1); }).status,
            ServerStore::EnqueueStatus::stored);
}

TEST_F(ServerStoreTest, IdsKeepIncreasingAfterTheQueueEmptiesAndAcrossRestarts) {
  auto alice = make("alice");
  auto bob = make("bob");
  auto e1 = tx([&](ServerStore& s) { return s.enqueue(alice, "bob", 1, "a", 1); }).envelope_id;
  std::vector<uint64_t> ack{static_cast<uint64_t>(e1)};
  tx([&](ServerStore& s) { return s.ack(bob, ack); });
  reopen();
  auto e2 = tx([&](ServerStore& s) { return s.enqueue(alice, "bob", 2, "b", 1); }).envelope_id;
  EXPECT_GT(e2, e1);
  EXPECT_EQ(tx([&](ServerStore& s) { return s.load(bob, 0, 10); }).size(), 1u);
}

TEST_F(ServerStoreTest, RolledBackWorkIsNotThere) {
  auto alice = make("alice");
  make("bob");
  {
    db::Transaction t(store_->db());
    store_->enqueue(alice, "bob", 1, "a", 1);
  }  // rolled back
  store_->on_rollback();
  auto r = tx([&](ServerStore& s) { return s.enqueue(alice, "bob", 1, "a", 1); });
  EXPECT_EQ(r.status, ServerStore::EnqueueStatus::stored);
}

}  // namespace
}  // namespace ferry::chat::server
