// Admission: who may open a connection right now.
//
// The global and per-listener caps are single atomics touched once per
// connection. Per-client-IP state (concurrent count and a token bucket for the
// rate of new connections) lives in a sharded table that is only used when
// those limits are set. IPv6 clients are counted per /64, since one host
// usually owns a whole /64 and could otherwise step around any per-IP limit.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "net/address.h"

namespace ferry::proxy {

struct IpKey {
  uint64_t hi = 0;
  uint64_t lo = 0;
  bool operator==(const IpKey&) const = default;
  static IpKey from(const net::SocketAddress& addr);
};

struct IpKeyHash {
  size_t operator()(const IpKey& k) const {
    return static_cast<size_t>((k.hi * 0x9E3779B97F4A7C15ull) ^ (k.lo + 0x632BE59BD9B4E019ull));
  }
};

class PerIpLimiter {
 public:
  enum class Verdict : uint8_t { admitted, too_many, too_fast };

  // 0 = unlimited. May be changed at any time (reload).
  void set_limits(uint32_t max_concurrent, uint32_t new_per_second);
  bool enabled() const {
    return max_concurrent_.load(std::memory_order_relaxed) != 0 ||
           per_second_.load(std::memory_order_relaxed) != 0;
  }

  // On `admitted` the caller must call leave() with the same key later.
  Verdict enter(const IpKey& key, uint64_t now_ms);
  void leave(const IpKey& key);

  // Forgets clients with no connection and a full bucket (bounded memory).
  void sweep(uint64_t now_ms);
  size_t tracked() const;

 private:
  struct Entry {
    uint32_t active = 0;
    double tokens = 0;
    uint64_t refilled_ms = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<IpKey, Entry, IpKeyHash> map;
  };
  static constexpr size_t kShards = 16;
  // Past this, a new client is refused rather than tracked: an attacker with
  // many addresses cannot make the table grow without limit.
  static constexpr size_t kMaxPerShard = 1 << 16;

  Shard& shard(const IpKey& k) { return shards_[IpKeyHash{}(k) % kShards]; }
  void refill(Entry& e, uint64_t now_ms, uint32_t rate) const;

  std::array<Shard, kShards> shards_;
  std::atomic<uint32_t> max_concurrent_{0};
  std::atomic<uint32_t> per_second_{0};
};

// A counter with a ceiling, shared by all workers: one atomic add per
// connection. 0 = no ceiling.
bool try_acquire_slot(std::atomic<uint64_t>& active, uint64_t max);
bool try_acquire_slot(std::atomic<uint32_t>& active, uint32_t max);

}  // namespace ferry::proxy
