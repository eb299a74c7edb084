// Admission and rate limits: a token bucket (per connection: frames; per
// client IP: new connections), the per-IP table that holds them, and hourly
// budgets (bundles per fetching account; one-time prekeys per fetcher and
// target).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry::chat::server {

// Starts full. take() refills by elapsed time, then spends one token.
class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double burst, uint64_t now_ms) : tokens_(burst), last_ms_(now_ms) {}
  bool take(double rate_per_s, double burst, uint64_t now_ms);
  bool full(double rate_per_s, double burst, uint64_t now_ms) const;

 private:
  void refill(double rate_per_s, double burst, uint64_t now_ms);
  double tokens_ = 0;
  uint64_t last_ms_ = 0;
};

// Connections, new-connection rate and registrations per client, keyed by
// SocketAddress::client_network() (an IPv4 address or an IPv6 /64).
class IpTable {
 public:
  IpTable(uint32_t max_per_ip, uint32_t new_per_second, uint32_t registrations_per_hour = 0)
      : max_per_ip_(max_per_ip),
        new_per_second_(new_per_second),
        registrations_per_hour_(registrations_per_hour) {}

  enum class Verdict : uint8_t { ok, too_many, too_fast };
  // Counts a new connection from `ip` unless a limit refuses it.
  Verdict admit(std::string_view ip, uint64_t now_ms);
  void release(std::string_view ip, uint64_t now_ms);
  // Spends one of `ip`'s registrations (a bucket of registrations_per_hour,
  // refilled at that rate); false when none is left. Accounts cost nothing
  // else, and every account may queue max_sender_bytes.
  bool take_registration(std::string_view ip, uint64_t now_ms);
  // Forgets addresses with no connection and a full rate budget (the server
  // calls it every few seconds, so the table only holds what matters now).
  void sweep(uint64_t now_ms);
  size_t tracked() const { return table_.size(); }
  uint32_t connections(std::string_view ip) const;

 private:
  struct Entry {
    uint32_t connections = 0;
    TokenBucket rate;
    TokenBucket registrations;
  };
  Entry new_entry(uint64_t now_ms) const;
  // Nothing to remember: no connection, both buckets full.
  bool forgettable(const Entry& e, uint64_t now_ms) const;
  uint32_t max_per_ip_;
  uint32_t new_per_second_;
  uint32_t registrations_per_hour_;
  std::unordered_map<std::string, Entry> table_;
};

// One bucket of `per_hour` tokens per key (an account id; a fetcher and a
// target), refilled at that rate. Keys whose bucket is full again are
// forgotten by sweep(), so the table only holds keys that spent something
// within the hour. per_hour 0: unlimited, nothing tracked.
template <class Key>
class HourlyBudget {
 public:
  explicit HourlyBudget(uint32_t per_hour) : per_hour_(per_hour) {}
  // Spends one of `key`'s tokens; false when none is left.
  bool take(const Key& key, uint64_t now_ms) {
    if (per_hour_ == 0) return true;
    auto it = buckets_.try_emplace(key, TokenBucket(per_hour_, now_ms)).first;
    return it->second.take(rate_per_s(), per_hour_, now_ms);
  }
  void sweep(uint64_t now_ms) {
    std::erase_if(buckets_,
                  [&](auto& kv) { return kv.second.full(rate_per_s(), per_hour_, now_ms); });
  }
  size_t tracked() const { return buckets_.size(); }

 private:
  double rate_per_s() const { return per_hour_ / 3600.0; }
  uint32_t per_hour_;
  std::unordered_map<Key, TokenBucket> buckets_;
};

// Bundles fetched, per fetching account.
using AccountBudget = HourlyBudget<int64_t>;
// One-time prekeys handed out, per fetcher and target ("fetcher/target"):
// no account can take a user's stock by fetching the bundle again and again
// (later bundles come without one: X3DH without DH4, as when it is empty).
using PrekeyGrants = HourlyBudget<std::string>;

}  // namespace ferry::chat::server
