// ferry-server: one event loop thread for every connection, one store thread
// for SQLite (group commit). Listeners for direct clients and for
// ferry-proxy (PROXY header first); admission (global cap, per-IP cap and
// rate); signals (SIGTERM/SIGINT drain and stop, SIGUSR1 logs the counters).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/server/checkpointer.h"
#include "chat/server/data_dir.h"
#include "chat/server/limits.h"
#include "chat/server/options.h"
#include "chat/server/router.h"
#include "chat/server/stats.h"
#include "chat/server/store.h"
#include "chat/server/store_worker.h"
#include "crypto/bytes.h"
#include "crypto/primitives/dh.h"
#include "net/address.h"
#include "net/event_loop.h"
#include "net/fd.h"

namespace ferry::chat::server {

class Session;
class Listener;
class SignalWatcher;

class Server final : private net::TimerHandler {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Data dir, key, store, listeners. false + error (one line) on failure.
  bool start(std::string& error);
  // Handle SIGTERM/SIGINT/SIGUSR1 through a signalfd (the caller has blocked
  // them in every thread, see block_signals()).
  bool watch_signals(std::string& error);
  static void block_signals();

  // Runs the loop until stopped; returns after the drain.
  void run();
  // Any thread: stop accepting, finish stored work (bounded), then return.
  void request_stop();

  const std::string& link() const { return link_; }
  bool key_created() const { return key_created_; }
  const std::vector<net::SocketAddress>& bound_listen() const { return bound_listen_; }
  const std::vector<net::SocketAddress>& bound_proxy_listen() const { return bound_proxy_; }
  const crypto::Bytes& public_key() const { return static_key_.public_key; }

  // ---- for sessions and listeners (loop thread) ----
  const ServerOptions& options() const { return options_; }
  net::EventLoop& loop() { return loop_; }
  Stats& stats() { return stats_; }
  StoreWorker& worker() { return *worker_; }
  Router& router() { return router_; }
  const crypto::DhKeyPair& static_key() const { return static_key_; }
  std::span<uint8_t> read_buffer() { return read_buffer_; }
  crypto::Bytes& scratch() { return scratch_; }
  std::string& plain_scratch() { return plain_scratch_; }
  Session* find_session(uint64_t id) const;
  void mark_dirty(uint64_t session_id) { dirty_.push_back(session_id); }
  void accept_from(Listener& listener);
  // Per-IP admission; counts refusals. true = admitted (release on close).
  bool admit(const net::SocketAddress& peer);
  void release(const net::SocketAddress& peer);
  // Per-IP registration rate; counts refusals.
  bool allow_registration(const net::SocketAddress& peer);
  // Per-account FetchBundle rate (each one may take a one-time prekey of
  // someone else's); counts refusals.
  bool allow_bundle_fetch(int64_t account);
  // Whether this bundle may carry one of `target`'s one-time prekeys
  // (--one-time-prekeys-per-hour per fetcher and target).
  bool grant_one_time_prekey(int64_t fetcher, std::string_view target);
  void on_session_closed(Session* session);
  void log_stats();
  bool draining() const { return draining_; }

 private:
  void on_timer() override;  // housekeeping and the drain
  bool open_listeners(std::string& error);
  void after_batch();
  void begin_drain();

  ServerOptions options_;
  net::EventLoop loop_;
  std::optional<DataDir> data_dir_;
  crypto::DhKeyPair static_key_;
  bool key_created_ = false;
  std::string link_;
  std::unique_ptr<ServerStore> store_;
  std::unique_ptr<StoreWorker> worker_;
  std::unique_ptr<Checkpointer> checkpointer_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<net::SocketAddress> bound_listen_, bound_proxy_;
  std::unique_ptr<SignalWatcher> signals_;
  std::unordered_map<uint64_t, Session*> sessions_;
  uint64_t next_session_id_ = 1;
  Router router_;
  IpTable ips_;
  AccountBudget bundle_budget_;
  PrekeyGrants prekey_grants_;
  Stats stats_;
  std::vector<uint8_t> read_buffer_;
  crypto::Bytes scratch_;
  std::string plain_scratch_;
  std::vector<uint64_t> dirty_;
  net::Timer housekeeping_;
  bool draining_ = false;
  uint64_t drain_deadline_ms_ = 0;
  uint64_t last_sweep_ms_ = 0;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace ferry::chat::server
