#include "proxy/admission.h"

#include <algorithm>
#include <cstring>

namespace ferry::proxy {

IpKey IpKey::from(const net::SocketAddress& addr) {
  const std::string net = addr.client_network();
  IpKey k;
  if (net.size() == 4) {
    uint32_t v4 = 0;
    std::memcpy(&v4, net.data(), 4);
    k.hi = 0;
    k.lo = 0xffff00000000ull | v4;
  } else if (net.size() == 8) {
    std::memcpy(&k.hi, net.data(), 8);  // the /64
    k.lo = 1;                           // tag: an IPv6 network, not a v4 host
  }
  return k;
}

void PerIpLimiter::set_limits(uint32_t max_concurrent, uint32_t new_per_second) {
  max_concurrent_.store(max_concurrent, std::memory_order_relaxed);
  per_second_.store(new_per_second, std::memory_order_relaxed);
}

void PerIpLimiter::refill(Entry& e, uint64_t now_ms, uint32_t rate) const {
  if (now_ms > e.refilled_ms) {
    e.tokens = std::min<double>(
        rate, e.tokens + static_cast<double>(now_ms - e.refilled_ms) * rate / 1000.0);
    e.refilled_ms = now_ms;
  }
}

PerIpLimiter::Verdict PerIpLimiter::enter(const IpKey& key, uint64_t now_ms) {
  uint32_t max = max_concurrent_.load(std::memory_order_relaxed);
  uint32_t rate = per_second_.load(std::memory_order_relaxed);
  Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) {
    if (s.map.size() >= kMaxPerShard) return Verdict::too_many;
    it = s.map.emplace(key, Entry{0, static_cast<double>(rate), now_ms}).first;
  }
  Entry& e = it->second;
  if (max != 0 && e.active >= max) return Verdict::too_many;
  if (rate != 0) {
    refill(e, now_ms, rate);
    if (e.tokens < 1.0) return Verdict::too_fast;
    e.tokens -= 1.0;
  }
  ++e.active;
  return Verdict::admitted;
}

void PerIpLimiter::leave(const IpKey& key) {
  Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it != s.map.end() && it->second.active > 0) --it->second.active;
}

void PerIpLimiter::sweep(uint64_t now_ms) {
  uint32_t rate = per_second_.load(std::memory_order_relaxed);
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    for (auto it = s.map.begin(); it != s.map.end();) {
      Entry& e = it->second;
      refill(e, now_ms, rate);
      if (e.active == 0 && e.tokens >= static_cast<double>(rate)) {
        it = s.map.erase(it);
      } else {
        ++it;
      }
    }
  }
}

size_t PerIpLimiter::tracked() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

template <typename T>
static bool acquire(std::atomic<T>& active, T max) {
  T now = active.fetch_add(1, std::memory_order_relaxed);
  if (max != 0 && now >= max) {
    active.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

bool try_acquire_slot(std::atomic<uint64_t>& active, uint64_t max) {
  return acquire(active, max);
}
bool try_acquire_slot(std::atomic<uint32_t>& active, uint32_t max) {
  return acquire(active, max);
}

}  // namespace ferry::proxy
