// Secrets are wiped when freed, and compared in constant time.
#include "crypto/secret.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <concepts>
#include <new>
#include <vector>

#include "crypto/ratchet_kdf.h"

namespace ferry::crypto {
namespace {

// An allocator that keeps every block after "freeing" it, so the test can
// look at what the ZeroingAllocator left behind without reading freed memory.
struct Arena {
  std::vector<std::vector<uint8_t>> blocks;
  std::vector<bool> freed;
};

template <typename T>
struct KeepingAllocator {
  using value_type = T;
  Arena* arena;
  explicit KeepingAllocator(Arena* a) : arena(a) {}
  template <typename U>
  KeepingAllocator(const KeepingAllocator<U>& o) : arena(o.arena) {}
  T* allocate(size_t n) {
    arena->blocks.emplace_back(n * sizeof(T), 0xEE);
    arena->freed.push_back(false);
    return reinterpret_cast<T*>(arena->blocks.back().data());
  }
  void deallocate(T* p, size_t) {
    for (size_t i = 0; i < arena->blocks.size(); ++i) {
      if (arena->blocks[i].data() == reinterpret_cast<uint8_t*>(p)) arena->freed[i] = true;
    }
  }
  template <typename U>
  bool operator==(const KeepingAllocator<U>& o) const {
    return arena == o.arena;
  }
};

TEST(Secret, ZeroingAllocatorWipesEveryFreedBlock) {
  Arena arena;
  arena.blocks.reserve(64);  // blocks must not move while in use
  {
    using Alloc = ZeroingAllocator<uint8_t, KeepingAllocator<uint8_t>>;
    std::vector<uint8_t, Alloc> secret{Alloc(KeepingAllocator<uint8_t>(&arena))};
    for (int i = 0; i < 100; ++i) secret.push_back(0xA5);  // several reallocations
  }
  ASSERT_GT(arena.blocks.size(), 1u);
  for (size_t i = 0; i < arena.blocks.size(); ++i) {
    EXPECT_TRUE(arena.freed[i]);
    EXPECT_TRUE(std::all_of(arena.blocks[i].begin(), arena.blocks[i].end(),
                            [](uint8_t b) { return b == 0; }))
        << "block " << i << " was not wiped";
  }
}

TEST(Secret, SecretArrayWipesItselfOnDestruction) {
  alignas(Key32) uint8_t storage[sizeof(Key32)];
  auto* key = new (storage) Key32();
  std::fill(key->data(), key->data() + key->size(), 0xA5);
  key->~Key32();
  EXPECT_TRUE(std::all_of(storage, storage + sizeof storage, [](uint8_t b) { return b == 0; }));
}

TEST(Secret, DerivedKeysAreWipedToo) {
  // MessageKeys holds only SecretArrays: destroying it leaves zeros.
  alignas(MessageKeys) uint8_t storage[sizeof(MessageKeys)];
  Key32 seed;
  seed[0] = 1;
  auto* keys = new (storage) MessageKeys(kdf_message_keys(seed));
  ASSERT_FALSE(std::all_of(storage, storage + sizeof storage, [](uint8_t b) { return b == 0; }));
  keys->~MessageKeys();
  EXPECT_TRUE(std::all_of(storage, storage + sizeof storage, [](uint8_t b) { return b == 0; }));
}

// Fixed-size secrets have no operator==: the only way to compare them is
// ct_equal / ct_equals, which are constant time.
static_assert(!std::equality_comparable<Key32>);
static_assert(!std::equality_comparable<SecretArray<64>>);

TEST(Secret, ConstantTimeEquality) {
  Bytes a{1, 2, 3}, b{1, 2, 3}, c{1, 2, 4};
  EXPECT_TRUE(ct_equal(a, b));
  EXPECT_FALSE(ct_equal(a, c));
  EXPECT_FALSE(ct_equal(a, Bytes{1, 2}));
  EXPECT_TRUE(ct_equal(Bytes{}, Bytes{}));
}

}  // namespace
}  // namespace ferry::crypto
