// Randomized conversations (bounded, seeded; the seed is printed on failure):
// random interleaving in both directions, reordering, loss, duplicates,
// flipped bits, and save/restore of either side at random points.
#include <gtest/gtest.h>

#include <optional>

#include "crypto/ratchet.h"
#include "test_util.h"

namespace ferry::crypto {
namespace {

constexpr int kRuns = 150;
constexpr int kStepsPerRun = 60;

struct InFlight {
  Bytes wire;
  Bytes plaintext;
  bool delivered = false;
  bool lost = false;  // never arrives
};

struct World {
  IdentityKeyPair alice_id = IdentityKeyPair::generate();
  IdentityKeyPair bob_id = IdentityKeyPair::generate();
  SignedPrekeyPair spk = generate_signed_prekey(bob_id, 1);
  OneTimePrekeyPair opk = generate_one_time_prekeys(1, 1)[0];
  std::optional<RatchetSession> alice, bob;
  std::vector<InFlight> to_bob, to_alice;
};

// Sends a random message from one side.
void send(test::Seeded& rnd, RatchetSession& from, std::vector<InFlight>& queue) {
  Bytes pt = rnd.bytes(rnd.below(300));
  auto wire = from.encrypt(pt);
  ASSERT_TRUE(wire) << to_string(wire.code());
  queue.push_back({std::move(*wire), std::move(pt), false});
}

// Bob may not exist yet: the first of Alice's messages he gets creates him.
Result<Bytes> receive_at_bob(World& w, ByteView wire) {
  if (w.bob) return w.bob->decrypt(wire);
  auto accepted = RatchetSession::accept(w.bob_id, w.spk, &w.opk, wire);
  if (!accepted) return accepted.error();
  w.bob = std::move(accepted->session);
  return std::move(accepted->plaintext);
}

Result<Bytes> receive(World& w, bool at_bob, ByteView wire) {
  return at_bob ? receive_at_bob(w, wire) : w.alice->decrypt(wire);
}

std::optional<SecretBytes> snapshot(const World& w, bool at_bob) {
  const auto& s = at_bob ? w.bob : w.alice;
  if (!s) return std::nullopt;
  return s->serialize();
}

void deliver(test::Seeded& rnd, World& w, bool to_bob) {
  auto& queue = to_bob ? w.to_bob : w.to_alice;
  std::vector<InFlight*> arriving;
  for (auto& m : queue) {
    if (!m.lost) arriving.push_back(&m);
  }
  if (arriving.empty()) return;
  InFlight& m = *arriving[rnd.below(arriving.size())];
  if (!m.delivered) {
    // A tampered copy first: refused, and the receiver's state is untouched.
    if (rnd.chance(0.3)) {
      Bytes bad = m.wire;
      size_t bit = rnd.below(bad.size() * 8);
      bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      auto before = snapshot(w, to_bob);
      EXPECT_FALSE(receive(w, to_bob, bad)) << "flipped bit " << bit << " accepted";
      EXPECT_EQ(snapshot(w, to_bob), before) << "a refused message changed the state";
    }
    auto got = receive(w, to_bob, m.wire);
    ASSERT_TRUE(got) << "genuine message refused: " << to_string(got.code());
    EXPECT_EQ(*got, m.plaintext);
    m.delivered = true;
  } else {
    auto again = receive(w, to_bob, m.wire);
    ASSERT_FALSE(again) << "duplicate accepted";
    EXPECT_EQ(again.code(), Errc::replayed);
  }
}

// Save and restore one side; the restored copy must behave identically.
void save_restore(test::Seeded& rnd, World& w, bool bob_side) {
  auto& s = bob_side ? w.bob : w.alice;
  if (!s) return;
  SecretBytes bytes = s->serialize();
  auto restored = RatchetSession::deserialize(view(bytes));
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->serialize(), bytes);
  if (s->is_initiator() || w.bob) {
    // Encryption is deterministic given the state: same bytes from both.
    Bytes pt = rnd.bytes(17);
    auto x = s->encrypt(pt);
    auto y = restored->encrypt(pt);
    ASSERT_TRUE(x && y);
    EXPECT_EQ(*x, *y);
    (bob_side ? w.to_alice : w.to_bob).push_back({std::move(*x), pt, false});
  }
  s = std::move(*restored);
}

TEST(RatchetProperty, RandomConversations) {
  FERRY_SEEDED(rnd);
  for (int run = 0; run < kRuns; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    World w;
    auto alice = RatchetSession::initiate(
        w.alice_id, PrekeyBundle{w.bob_id.public_key(), w.spk.public_part(), w.opk.public_part()});
    ASSERT_TRUE(alice);
    w.alice = std::move(*alice);
    const double loss = rnd.chance(0.5) ? 0.0 : 0.2;
    for (int step = 0; step < kStepsPerRun; ++step) {
      size_t action = rnd.below(10);
      if (action < 3) {
        send(rnd, *w.alice, w.to_bob);
        w.to_bob.back().lost = rnd.chance(loss);
      } else if (action < 5 && w.bob) {
        send(rnd, *w.bob, w.to_alice);
        w.to_alice.back().lost = rnd.chance(loss);
      } else if (action < 7) {
        deliver(rnd, w, true);
      } else if (action < 9) {
        deliver(rnd, w, false);
      } else {
        save_restore(rnd, w, rnd.chance(0.5));
      }
      if (HasFatalFailure()) return;
    }
    // Everything still in flight arrives in the end, in random order.
    for (int guard = 0; guard < 4000; ++guard) {
      bool pending = false;
      for (bool to_bob : {true, false}) {
        for (auto& m : to_bob ? w.to_bob : w.to_alice) pending |= !m.delivered && !m.lost;
      }
      if (!pending) break;
      deliver(rnd, w, rnd.chance(0.5));
      if (HasFatalFailure()) return;
    }
    EXPECT_LE(w.alice->skipped_key_count(), kMaxSkippedKeys);
  }
}

}  // namespace
}  // namespace ferry::crypto
