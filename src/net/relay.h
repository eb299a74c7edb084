// The relay: moves bytes both ways between a client and an upstream endpoint,
// byte-exact, with half-close propagated and bounded memory.
//
// Memory: an idle relay holds nothing but this object. Bytes in flight live in
// the kernel (socket buffers, a pipe lent from the worker's pool for splice)
// or, when a sink is slow, in at most one read's worth of user-space buffer
// per direction, after which the source is no longer read (backpressure).
//
// Plain <-> plain directions start with recv/send through the worker's scratch
// buffer (cheapest for small messages) and switch to splice(2) once a read
// shows bulk traffic. TLS directions always go through the scratch buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "net/endpoint.h"
#include "net/pipe_pool.h"

namespace ferry::net {

// Per-worker resources every relay on that worker borrows.
struct RelayScratch {
  static constexpr size_t kSize = size_t{64} * 1024;
  static constexpr size_t kBulkRead = size_t{16} * 1024;  // a read this big switches to splice
  std::unique_ptr<char[]> buffer{new char[kSize]};
  PipePool pipes;
};

class Relay {
 public:
  enum class State : uint8_t {
    open,         // both directions may carry bytes
    half_closed,  // one direction has ended and its EOF was passed on
    closed,       // both ended: close the connection
    failed,       // reset or TLS error on either side: close the connection
  };

  struct Events {
    bool client_readable = false;
    bool client_writable = false;
    bool upstream_readable = false;
    bool upstream_writable = false;
    // The peer already sent its FIN (EPOLLRDHUP): no further edge will come
    // for it, so its direction reads to the end from now on (remembered
    // while the direction is blocked on its sink).
    bool client_hup = false;
    bool upstream_hup = false;
  };

  Relay(Endpoint& client, Endpoint& upstream) : client_(client), upstream_(upstream) {}
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;
  ~Relay();

  // Bytes to send before anything read from the other side: a PROXY header
  // upstream, or what the ring relay had not sent when it handed over.
  void queue_to_upstream(std::string_view bytes) { queue(up_, bytes); }
  void queue_to_client(std::string_view bytes) { queue(down_, bytes); }

  // Moves what the readiness events allow. `more` is set when a direction hit
  // its per-call budget with bytes still flowing: call again soon (fairness).
  State on_events(const Events& ev, RelayScratch& scratch, bool& more);

  uint64_t bytes_up() const { return up_.bytes; }      // client -> upstream
  uint64_t bytes_down() const { return down_.bytes; }  // upstream -> client
  // True if any byte moved during the last call (idle-timeout bookkeeping).
  bool moved() const { return moved_; }
  State state() const { return state_; }

  // Releases pipes and buffers now (the relay is being torn down).
  void release(RelayScratch& scratch);

 private:
  struct Pending {
    std::unique_ptr<char[]> data;
    uint32_t offset = 0;
    uint32_t length = 0;
  };
  struct Direction {
    Pipe* pipe = nullptr;
    uint32_t in_pipe = 0;
    Pending pending;
    uint64_t bytes = 0;
    bool eof = false;   // source ended
    bool hup = false;   // the source reported a hang-up: read it to the end
    bool shut = false;  // sink's write half closed
    bool bulk = false;  // use splice (plain to plain only)
    bool failed = false;
    bool read_wants_write = false;  // TLS source needs its fd writable
    bool write_wants_read = false;  // TLS sink needs its fd readable
    bool blocked() const { return in_pipe > 0 || pending.length > 0; }
    bool done() const { return shut && !blocked(); }
  };
  enum class Pump : uint8_t { idle, blocked, done, failed, budget };

  static void queue(Direction& d, std::string_view bytes);
  Pump pump(Direction& d, Endpoint& src, Endpoint& dst, RelayScratch& scratch);
  Pump pump_splice(Direction& d, Endpoint& src, Endpoint& dst, RelayScratch& scratch,
                   size_t& moved);
  Pump finish(Direction& d, Endpoint& dst);
  // Writes what is in flight; false if the sink blocked or failed.
  bool flush(Direction& d, Endpoint& dst);
  // Sends buf to dst; keeps what does not fit. False if blocked or failed.
  bool send_or_keep(Direction& d, Endpoint& dst, const char* buf, size_t len);
  void give_back_pipe(Direction& d, RelayScratch& scratch);
  State update_state();

  Endpoint& client_;
  Endpoint& upstream_;
  Direction up_;    // client -> upstream
  Direction down_;  // upstream -> client
  State state_ = State::open;
  bool moved_ = false;
  RelayScratch* scratch_ = nullptr;  // for pipes still lent when destroyed
};

}  // namespace ferry::net
