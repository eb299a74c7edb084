// One client connection, from accept to close, on the worker that accepted it.
//
//   accept -> [PROXY header] -> per-IP admission -> [TLS handshake]
//          -> connect upstream (next healthy server on failure) -> relay
//
// On a worker with an io_uring, a connection without TLS connects and relays
// through the ring (RingRelay) and never touches epoll unless it carries
// bulk, when it moves to the epoll Relay, which splices. TLS connections use
// epoll throughout.
//
// Every stage runs under the connection's single timer: handshake_timeout for
// the header and TLS, connect_timeout per attempt, then idle_timeout (or
// fin_timeout once one side has closed). Every way out is counted by reason.
#pragma once

#include <cstdint>
#include <memory>

#include "net/endpoint.h"
#include "net/event_loop.h"
#include "net/relay.h"
#include "net/ring_relay.h"
#include "proxy/admission.h"
#include "proxy/metrics.h"
#include "proxy/runtime.h"

namespace ferry::proxy {

class Worker;

class Connection final : public net::Deferred,
                         public net::TimerHandler,
                         public net::Completion,
                         public net::RingRelay::Owner {
 public:
  // `client` is accepted and non-blocking; global and listener slots are
  // already taken (released on close).
  Connection(Worker& worker, std::shared_ptr<const ListenerRuntime> listener, net::Fd client,
             const net::SocketAddress& peer);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // Ends the connection now (drain deadline, shutdown).
  void close(CloseReason reason);

  // Worker's intrusive list of live connections.
  Connection* prev = nullptr;
  Connection* next = nullptr;

 private:
  enum class Stage : uint8_t {
    proxy_header,   // reading the PROXY header (accept_proxy listeners)
    awaiting_data,  // after a LOCAL header: dial only once the client says something
    tls_handshake,
    connecting,
    relaying,
    closed,
  };

  // epoll hands us one of these two per event; both lead back here.
  struct Side final : net::IoHandler {
    Connection* owner = nullptr;
    bool upstream = false;
    void on_io(uint32_t events) override { owner->on_io(upstream, events); }
  };

  void on_io(bool upstream_side, uint32_t events);
  void refuse(Refusal why);
  void upstream_failed(const char* why);
  void queue_upstream_header(const net::SocketAddress& dest);
  void on_timer() override;
  // The ring's connect completed (Completion).
  void on_complete(int res, uint32_t flags, uint8_t tag) override;
  void on_ring_relay() override;

  void read_proxy_header();
  void await_first_byte();
  void admit_client();
  void start_tls();
  void continue_tls();
  void connect_next();
  void on_connect_result(uint32_t events);
  // The ring's part in dialling: operation tags, and the steps.
  enum RingOp : uint8_t { kNoOp = 0, kSocketOp = 1, kConnectOp = 2 };
  // Making or dialling the upstream socket failed with `err`. Our own
  // shortage (descriptors, memory, local ports) closes the client and blames
  // no server: true. Anything else counts against the server: false.
  bool dial_failed(int err);
  void dial_in_ring();
  void connected();
  void start_relay(uint32_t upstream_events);
  void start_ring_relay();
  void finish_hand_over();
  void relay(const net::Relay::Events& ev);
  // Acts on the relay's new state (close, or fin_timeout once half-closed);
  // false once the connection is closed.
  bool follow(net::Relay::State state);
  void count_bytes();
  void arm_idle_timer();
  uint64_t bytes_up() const;
  uint64_t bytes_down() const;
  // Closed and no ring operation refers to us any more.
  void delete_when_idle();

  ListenerCounters& counters();
  uint64_t now() const;

  Worker& worker_;
  std::shared_ptr<const ListenerRuntime> listener_;
  net::Endpoint client_;
  net::Endpoint upstream_;
  std::unique_ptr<net::Relay> relay_;            // epoll: TLS, or bulk handed over
  std::unique_ptr<net::RingRelay> ring_relay_;   // io_uring: plain <-> plain
  std::unique_ptr<net::SocketAddress> dialled_;  // read by the ring's connect
  std::string upstream_first_;                   // PROXY header for the upstream
  Side client_side_;
  Side upstream_side_;
  net::Timer timer_;
  net::SocketAddress client_addr_;  // the real client (from a PROXY header if any)
  ServerState* server_ = nullptr;   // being dialled / relayed to
  uint64_t started_ms_ = 0;
  uint64_t last_active_ms_ = 0;
  uint64_t counted_up_ = 0;  // bytes already added to the listener counters
  uint64_t counted_down_ = 0;
  uint32_t rr_start_ = 0;    // round robin over servers
  uint32_t attempt_ = 0;     // servers offered so far
  uint32_t addr_start_ = 0;  // rotation over the current server's addresses
  uint32_t addr_attempt_ = 0;
  Stage stage_ = Stage::proxy_header;
  bool per_ip_entered_ = false;
  bool header_queued_ = false;    // PROXY header for the upstream already built
  bool client_hup_seen_ = false;  // the client's FIN arrived before the relay started
  bool ring_ = false;             // this connection connects and relays through the ring
  RingOp ring_op_ = kNoOp;        // the ring operation in flight while dialling
  net::Relay::State relay_state_ = net::Relay::State::open;  // as follow() last saw it
  bool connect_timed_out_ = false;
  bool delete_queued_ = false;
};

}  // namespace ferry::proxy
