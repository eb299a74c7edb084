// Resolves upstream hostnames off the hot path, in its own thread, and keeps
// them fresh. Workers only ever read the last good answer: a failed lookup
// keeps the previous addresses and is retried sooner.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "proxy/upstream.h"

namespace ferry::proxy {

class Resolver {
 public:
  Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;
  ~Resolver();

  // Replaces the set of upstreams to keep resolved (start, reload).
  void watch(std::vector<std::shared_ptr<UpstreamState>> upstreams);

  // One blocking lookup (also used by tests): numeric and IPv4/IPv6 results.
  static bool resolve(const net::HostPort& target, AddressList& out, std::string& error);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool changed_ = false;
  std::vector<std::shared_ptr<UpstreamState>> upstreams_;
  std::thread thread_;
};

}  // namespace ferry::proxy
