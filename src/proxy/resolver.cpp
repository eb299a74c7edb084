#include "proxy/resolver.h"

#include <netdb.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "common/log.h"
#include "net/event_loop.h"

namespace ferry::proxy {
namespace {

constexpr uint64_t kRetryMs = 5'000;
constexpr uint32_t kLogEvery = 60;  // with kRetryMs: every 5 minutes

}  // namespace

Resolver::Resolver() : thread_([this] { run(); }) {}

Resolver::~Resolver() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Resolver::watch(std::vector<std::shared_ptr<UpstreamState>> upstreams) {
  {
    std::lock_guard lock(mu_);
    upstreams_ = std::move(upstreams);
    changed_ = true;
  }
  cv_.notify_all();
}

bool Resolver::resolve(const net::HostPort& target, AddressList& out, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;  // no IPv6 answers on a host without IPv6
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(target.host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    error = gai_strerror(rc);
    return false;
  }
  out.clear();
  int unspecified = 0;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    auto a = net::SocketAddress::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
    if (a.unspecified()) {  // a name that says 0.0.0.0 must not mean loopback
      ++unspecified;
      continue;
    }
    a.set_port(target.port);
    bool seen = false;
    for (const auto& b : out) seen = seen || b == a;
    if (!seen) out.push_back(a);
  }
  ::freeaddrinfo(res);
  if (out.empty()) {
    // A resolver that blocks a name often answers 0.0.0.0: say so.
    error = unspecified > 0 ? "resolves only to the unspecified address (0.0.0.0 or ::)"
                            : "no IPv4 or IPv6 address";
    return false;
  }
  return true;
}

void Resolver::run() {
  // When each hostname is due again, and how many lookups in a row failed,
  // by server label. Failures are logged when they start, then every
  // kLogEvery-th retry, and the recovery once: DNS down must not flood logs.
  std::map<std::string, uint64_t> due;
  std::map<std::string, uint32_t> failures;
  std::unique_lock lock(mu_);
  while (!stop_) {
    auto upstreams = upstreams_;
    // A reload resolves every name again: "0s" means at start and on each
    // reload, and a new resolve_interval takes effect at once.
    if (std::exchange(changed_, false)) due.clear();
    lock.unlock();
    uint64_t now = net::monotonic_ms();
    uint64_t next = now + 1000;
    for (auto& up : upstreams) {
      for (size_t i = 0; i < up->size(); ++i) {
        ServerState& s = up->server(i);
        if (s.numeric()) continue;
        std::string key = up->name() + "/" + s.label();
        auto it = due.find(key);
        if (it != due.end() && it->second > now) {
          next = std::min(next, it->second);
          continue;
        }
        AddressList list;
        std::string error;
        // resolve_interval = 0: resolve once, keep the answer.
        auto interval = static_cast<uint64_t>(up->config().resolve_interval.count());
        uint64_t again = interval == 0 ? UINT64_MAX : now + std::max<uint64_t>(1000, interval);
        uint32_t& failed = failures[key];
        if (resolve(s.target(), list, error)) {
          if (failed > 0) {
            log::info("upstream_resolved", {{"server", s.label()}, {"after_failures", failed}});
          } else {
            log::debug("upstream_resolved", {{"server", s.label()}, {"addresses", list.size()}});
          }
          failed = 0;
          s.set_addresses(std::move(list));
        } else {
          if (failed++ % kLogEvery == 0) {
            log::warn("upstream_resolve_failed",
                      {{"server", s.label()}, {"error", error}, {"failures", failed}});
          }
          again = now + kRetryMs;
        }
        due[key] = again;
        next = std::min(next, again);
      }
    }
    lock.lock();
    if (stop_ || changed_) continue;
    uint64_t wait = next > net::monotonic_ms() ? next - net::monotonic_ms() : 0;
    cv_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return stop_ || changed_; });
  }
}

}  // namespace ferry::proxy
