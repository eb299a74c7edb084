#include "chat/client/e2e.h"

#include <gtest/gtest.h>

#include "chat/client/errors.h"
#include "crypto/prekeys.h"
#include "test_dir.h"

namespace ferry::chat::client {
namespace {

using testing::TempDir;

std::string str(const crypto::SecretBytes& s) {
  return std::string(s.begin(), s.end());
}
std::string str(crypto::ByteView v) {
  return std::string(v.begin(), v.end());
}

// One user: a home, an identity, prekeys in the store.
struct User {
  User(const TempDir& dir, const std::string& name)
      : identity(crypto::IdentityKeyPair::generate()) {
    std::string error;
    store = ClientStore::open(dir.path() + "/" + name, error);
    spk = crypto::generate_signed_prekey(identity, 1);
    store->put_signed_prekey(1, str(spk.serialize()), 0);
    otks = crypto::generate_one_time_prekeys(1, 3);
    for (auto& k : otks) store->put_one_time_prekey(k.id, str(k.serialize()));
    e2e = std::make_unique<E2E>(*store, identity);
  }
  crypto::PrekeyBundle bundle(std::optional<size_t> otk = 0) const {
    crypto::PrekeyBundle b{identity.public_key(), spk.public_part(), std::nullopt};
    if (otk) b.one_time_prekey = otks[*otk].public_part();
    return b;
  }
  crypto::IdentityKeyPair identity;
  std::unique_ptr<ClientStore> store;
  crypto::SignedPrekeyPair spk;
  std::vector<crypto::OneTimePrekeyPair> otks;
  std::unique_ptr<E2E> e2e;
};

class E2ETest : public ::testing::Test {
 protected:
  TempDir dir_;
  User alice_{dir_, "alice"}, bob_{dir_, "bob"};
};

TEST_F(E2ETest, FirstMessageThenReplies) {
  EXPECT_FALSE(alice_.e2e->has_session("bob"));
  EXPECT_FALSE(alice_.e2e->seal("bob", "x"));
  alice_.e2e->start_session("bob", bob_.bundle());
  auto m1 = alice_.e2e->seal("bob", "hello");
  ASSERT_TRUE(m1);
  auto o1 = bob_.e2e->open("alice", *m1);
  ASSERT_EQ(o1.status, E2E::Status::ok);
  EXPECT_EQ(o1.plaintext, "hello");
  // The one-time prekey is spent.
  EXPECT_FALSE(bob_.store->one_time_prekey(bob_.otks[0].id));
  EXPECT_EQ(bob_.store->contact("alice")->identity_key, str(alice_.identity.public_key().bytes()));
  // A replay of the first message is a duplicate, not a new session.
  EXPECT_EQ(bob_.e2e->open("alice", *m1).status, E2E::Status::duplicate);

  auto r1 = bob_.e2e->seal("alice", "hi back");
  ASSERT_TRUE(r1);
  auto o2 = alice_.e2e->open("bob", *r1);
  ASSERT_EQ(o2.status, E2E::Status::ok);
  EXPECT_EQ(o2.plaintext, "hi back");
  for (int i = 0; i < 5; ++i) {
    auto m = alice_.e2e->seal("bob", "m" + std::to_string(i));
    auto o = bob_.e2e->open("alice", *m);
    ASSERT_EQ(o.status, E2E::Status::ok);
    EXPECT_EQ(o.plaintext, "m" + std::to_string(i));
    EXPECT_EQ(bob_.e2e->open("alice", *m).status, E2E::Status::duplicate);
  }
}

TEST_F(E2ETest, AReplayedFirstMessageIsADuplicateEvenLongAfter) {
  // Without a one-time prekey (the server may leave it out of the bundle)
  // nothing spent marks alice's first message as used. Replayed once the
  // session has moved on further than its remembered ratchet keys, it must
  // still be a duplicate: not shown again, and not a new session that would
  // take bob's next replies where alice cannot read them.
  alice_.e2e->start_session("bob", bob_.bundle(std::nullopt));
  auto first = alice_.e2e->seal("bob", "first message (sent once)");
  ASSERT_TRUE(first);
  ASSERT_EQ(bob_.e2e->open("alice", *first).status, E2E::Status::ok);
  for (int turn = 0; turn < 8; ++turn) {  // more turns than the 5 remembered keys
    auto b = bob_.e2e->seal("alice", "b" + std::to_string(turn));
    ASSERT_TRUE(b);
    ASSERT_EQ(alice_.e2e->open("bob", *b).status, E2E::Status::ok) << turn;
    auto a = alice_.e2e->seal("bob", "a" + std::to_string(turn));
    ASSERT_TRUE(a);
    ASSERT_EQ(bob_.e2e->open("alice", *a).status, E2E::Status::ok) << turn;
  }
  auto again = bob_.e2e->open("alice", *first);
  EXPECT_EQ(again.status, E2E::Status::duplicate);
  EXPECT_TRUE(again.plaintext.empty());
  EXPECT_EQ(bob_.store->sessions("alice").size(), 1u) << "the replay started a session";
  auto reply = bob_.e2e->seal("alice", "still readable");
  ASSERT_TRUE(reply);
  auto got = alice_.e2e->open("bob", *reply);
  EXPECT_EQ(got.status, E2E::Status::ok);
  EXPECT_EQ(got.plaintext, "still readable");
}

TEST_F(E2ETest, GarbageIsUndecryptable) {
  EXPECT_EQ(bob_.e2e->open("alice", "not a ratchet message").status, E2E::Status::undecryptable);
  EXPECT_EQ(bob_.e2e->open("alice", "").status, E2E::Status::undecryptable);
}

TEST_F(E2ETest, BothStartingAtOnceConverges) {
  alice_.e2e->start_session("bob", bob_.bundle(0));
  bob_.e2e->start_session("alice", alice_.bundle(0));
  auto a1 = alice_.e2e->seal("bob", "from alice");
  auto b1 = bob_.e2e->seal("alice", "from bob");
  ASSERT_EQ(bob_.e2e->open("alice", *a1).plaintext, "from alice");
  ASSERT_EQ(alice_.e2e->open("bob", *b1).plaintext, "from bob");
  for (int i = 0; i < 4; ++i) {
    auto a = alice_.e2e->seal("bob", "a" + std::to_string(i));
    auto o = bob_.e2e->open("alice", *a);
    ASSERT_EQ(o.status, E2E::Status::ok) << i;
    auto b = bob_.e2e->seal("alice", "b" + std::to_string(i));
    auto p = alice_.e2e->open("bob", *b);
    ASSERT_EQ(p.status, E2E::Status::ok) << i;
  }
}

TEST_F(E2ETest, ABundleWhoseSignatureFailsIsRefusedBeforeItsIdentityCounts) {
  // docs/protocol.md 3.4: a bundle is checked before anything in it is used.
  // One that names another identity but carries bob's signed prekey (signed
  // by bob, not by it) is malformed, not news of a changed identity.
  alice_.e2e->start_session("bob", bob_.bundle());
  User other(dir_, "other");
  crypto::PrekeyBundle forged = bob_.bundle();
  forged.identity = other.identity.public_key();
  try {
    alice_.e2e->start_session("bob", forged);
    FAIL() << "a bundle with a bad signature was used";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.code(), ExitCode::error) << e.what();
  }
  EXPECT_EQ(alice_.store->contact("bob")->pending_identity_key, "");
}

TEST_F(E2ETest, AChangedIdentityIsNeverUsedSilently) {
  alice_.e2e->start_session("bob", bob_.bundle());
  auto m = alice_.e2e->seal("bob", "one");
  ASSERT_EQ(bob_.e2e->open("alice", *m).status, E2E::Status::ok);

  // "bob" comes back with another identity (new install, or a lying server).
  User bob2(dir_, "bob2");
  try {
    alice_.e2e->start_session("bob", bob2.bundle());
    FAIL() << "a new identity was accepted";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.code(), ExitCode::identity_changed);
  }
  EXPECT_EQ(alice_.store->contact("bob")->pending_identity_key,
            str(bob2.identity.public_key().bytes()));
  EXPECT_THROW(alice_.e2e->seal("bob", "x"), ClientError);

  // A first message from the new bob is held back too.
  bob2.e2e->start_session("alice", alice_.bundle(1));
  auto from_new = bob2.e2e->seal("alice", "it's me");
  EXPECT_EQ(alice_.e2e->open("bob", *from_new).status, E2E::Status::identity_changed);

  // Once accepted it opens.
  ASSERT_TRUE(alice_.store->accept_pending_identity("bob"));
  auto o = alice_.e2e->open("bob", *from_new);
  ASSERT_EQ(o.status, E2E::Status::ok);
  EXPECT_EQ(o.plaintext, "it's me");
}

}  // namespace
}  // namespace ferry::chat::client
