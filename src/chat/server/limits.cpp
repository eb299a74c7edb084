#include "chat/server/limits.h"

#include <algorithm>

namespace ferry::chat::server {

void TokenBucket::refill(double rate_per_s, double burst, uint64_t now_ms) {
  if (now_ms > last_ms_) {
    tokens_ = std::min(burst, tokens_ + rate_per_s * static_cast<double>(now_ms - last_ms_) / 1000);
    last_ms_ = now_ms;
  }
}

bool TokenBucket::take(double rate_per_s, double burst, uint64_t now_ms) {
  refill(rate_per_s, burst, now_ms);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

bool TokenBucket::full(double rate_per_s, double burst, uint64_t now_ms) const {
  double elapsed = now_ms > last_ms_ ? static_cast<double>(now_ms - last_ms_) : 0.0;
  return tokens_ + rate_per_s * elapsed / 1000 >= burst;
}

IpTable::Entry IpTable::new_entry(uint64_t now_ms) const {
  return Entry{0, TokenBucket(2.0 * new_per_second_, now_ms),
               TokenBucket(registrations_per_hour_, now_ms)};
}

bool IpTable::forgettable(const Entry& e, uint64_t now_ms) const {
  return e.connections == 0 &&
         (new_per_second_ == 0 || e.rate.full(new_per_second_, 2.0 * new_per_second_, now_ms)) &&
         (registrations_per_hour_ == 0 ||
          e.registrations.full(registrations_per_hour_ / 3600.0, registrations_per_hour_, now_ms));
}

IpTable::Verdict IpTable::admit(std::string_view ip, uint64_t now_ms) {
  auto key = std::string(ip);
  auto it = table_.find(key);
  double burst = 2.0 * new_per_second_;
  if (it == table_.end()) it = table_.emplace(std::move(key), new_entry(now_ms)).first;
  Entry& e = it->second;
  Verdict v = Verdict::ok;
  if (max_per_ip_ != 0 && e.connections >= max_per_ip_) {
    v = Verdict::too_many;
  } else if (new_per_second_ != 0 && !e.rate.take(new_per_second_, burst, now_ms)) {
    v = Verdict::too_fast;
  } else {
    ++e.connections;
  }
  if (v != Verdict::ok && forgettable(e, now_ms)) table_.erase(it);
  return v;
}

bool IpTable::take_registration(std::string_view ip, uint64_t now_ms) {
  if (registrations_per_hour_ == 0) return true;
  auto key = std::string(ip);
  auto it = table_.find(key);
  if (it == table_.end()) it = table_.emplace(std::move(key), new_entry(now_ms)).first;
  return it->second.registrations.take(registrations_per_hour_ / 3600.0, registrations_per_hour_,
                                       now_ms);
}

void IpTable::release(std::string_view ip, uint64_t now_ms) {
  auto it = table_.find(std::string(ip));
  if (it == table_.end()) return;
  Entry& e = it->second;
  if (e.connections > 0) --e.connections;
  if (forgettable(e, now_ms)) table_.erase(it);
}

void IpTable::sweep(uint64_t now_ms) {
  std::erase_if(table_, [&](auto& kv) { return forgettable(kv.second, now_ms); });
}

uint32_t IpTable::connections(std::string_view ip) const {
  auto it = table_.find(std::string(ip));
  return it == table_.end() ? 0 : it->second.connections;
}

}  // namespace ferry::chat::server
