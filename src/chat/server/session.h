// One client connection on the server, from accept to close:
//
//   [PROXY header] -> Noise Pipes handshake -> login lookup -> requests
//
// Bytes are read into the loop's shared buffer and split into frames without
// copying; only a frame that arrives in pieces is buffered, and only output
// not yet accepted by the kernel is kept, so an idle session holds no buffer.
// Every malformed input closes this session (counted, logged rate-limited);
// nothing a peer sends can affect another session except through the store.
//
// Requests that touch the store become StoreOps; their answers are written
// when the batch commits. A session may be closed while its ops are queued:
// completions find it by id and do nothing if it is gone.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "chat/proto/messages.h"
#include "chat/server/limits.h"
#include "chat/server/stats.h"
#include "chat/server/store.h"
#include "chat/wire/frame.h"
#include "crypto/noise/handshake_state.h"
#include "crypto/noise/pipes.h"
#include "net/address.h"
#include "net/event_loop.h"
#include "net/fd.h"

namespace ferry::chat::server {

class Server;

class Session final : public net::IoHandler, public net::TimerHandler, public net::Deferred {
 public:
  Session(Server& server, net::Fd fd, uint64_t id, const net::SocketAddress& peer,
          bool expect_proxy_header);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Registers with the loop. The peer address has passed admission unless a
  // PROXY header is expected (then admission happens once it is read).
  bool start();

  void on_io(uint32_t events) override;
  void on_timer() override;

  uint64_t id() const { return id_; }
  int64_t account_id() const { return account_ ? account_->id : 0; }
  bool closed() const { return stage_ == Stage::closed; }

  // Ends the session now: counted under `reason`, logged if peer-caused.
  void close(CloseReason reason, std::string_view detail = "");

  // The store committed an envelope for this session's account.
  void on_envelope_stored(const StoredEnvelope& envelope);
  // Writes pending pushes and output (after a batch of store results).
  void flush();
  // Stop taking requests; used when the server drains on SIGTERM.
  void stop_reading();
  bool idle_for_shutdown() const { return pending_ops_ == 0 && out_.size() == out_sent_; }
  void push_prekeys_low(uint32_t remaining);

 private:
  enum class Stage : uint8_t { proxy_header, handshake, logging_in, open, closed };
  enum class Delivery : uint8_t { off, loading, paging, live };

  // input
  void read_input();
  void consume(std::span<const uint8_t> bytes);
  bool consume_proxy_header(std::span<const uint8_t>& bytes);
  bool on_frame(std::span<const uint8_t> frame);
  bool on_handshake_frame(std::span<const uint8_t> frame);
  void finish_handshake();
  void on_login(std::optional<Account> account, uint32_t one_time_prekeys);
  bool on_transport_frame(std::span<const uint8_t> frame);
  void update_interest();

  // requests (session_requests.cpp)
  void handle(pb::Request& request);
  void handle_register(pb::Request& request);
  void handle_upload_prekeys(pb::Request& request);
  void handle_fetch_bundle(pb::Request& request);
  void handle_send(pb::Request& request);
  void handle_ack(pb::Request& request);
  void handle_receive(uint64_t request_id);
  // Queues a store operation. `run(ServerStore&, State&)` runs in the store
  // thread; `done(Server&, Session*, bool committed, State&)` on the loop
  // after the commit, with Session* nullptr if this session has gone.
  // `bytes`: what the state holds from the client (counted until done).
  template <typename State, typename Run, typename Done>
  void submit(State state, Run run, Done done, size_t bytes = 0);
  void become_account(const Account& account);
  void bind_account();  // this session gets the account's pushes; replaces another
  void mark_dirty();

  // delivery of envelopes
  void start_load();
  void on_loaded(std::vector<StoredEnvelope> envelopes, size_t limit, bool committed);
  void maybe_load();
  void queue_push(const StoredEnvelope& envelope);
  // Output not yet taken by the kernel, pushes being gathered included.
  size_t unsent_output() const;
  // Pushes stop at half of max_output, so what the server sends on its own
  // can never be what drops a slow reader; the other half is for answers.
  bool output_has_room() const;
  void encode_push(bool drained);

  // output
  void send_response(const pb::Response& response);
  void send_handshake(const crypto::Bytes& message);
  void write_out();

  void arm_timer();

  Server& server_;
  net::Fd fd_;
  uint64_t id_;
  net::SocketAddress peer_;  // the real client (from the PROXY header when there is one)
  bool admitted_ = false;    // counted in the per-IP table
  Stage stage_;
  bool reading_ = true;
  bool half_closed_ = false;  // the client sent EOF; close once its answers are out
  bool want_write_ = false;
  bool dirty_ = false;     // on the server's list of sessions to flush
  bool in_event_ = false;  // inside on_io/on_timer, which flush when they end
  uint32_t interest_ = 0;

  std::string proxy_buf_;  // PROXY header bytes until complete
  wire::FrameDecoder decoder_;
  std::unique_ptr<crypto::noise::PipesResponder> handshake_;
  std::optional<crypto::noise::Transport> transport_;
  std::string login_key_;
  std::optional<Account> account_;
  bool bound_ = false;  // the router sends this account's envelopes here
  // One-time prekeys the account held at login, if few: told once bound.
  std::optional<uint32_t> prekeys_low_at_login_;
  std::string stash_;  // input that came with the handshake, kept for after the login lookup

  crypto::Bytes out_;  // frames not yet written
  size_t out_sent_ = 0;

  TokenBucket requests_;
  uint32_t pending_ops_ = 0;
  size_t pending_bytes_ = 0;  // client bytes held by those operations

  Delivery delivery_ = Delivery::off;
  int64_t last_sent_id_ = 0;
  // Envelopes pushed on this connection and not yet acknowledged on it:
  // an Ack counts only for these (at most delivery_window of them).
  std::unordered_set<int64_t> in_flight_;
  std::unique_ptr<pb::Response> push_;  // envelopes gathered for the next push
  size_t push_bytes_ = 0;

  net::Timer timer_;
  uint64_t started_ms_;
  uint64_t last_activity_ms_;
  uint64_t partial_since_ms_ = 0;  // when the frame now in pieces began
  uint64_t retry_load_at_ms_ = 0;  // a failed load is retried then
};

}  // namespace ferry::chat::server
