// One benchmark client: a non-blocking connection on an EventLoop that runs
// the Noise Pipes handshake (IK, pinned server key) and then exchanges
// encrypted protobuf requests and responses, like `ferry` does, without the
// client's database: the benchmark measures the server.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "chat/proto/messages.h"
#include "chat/wire/frame.h"
#include "crypto/noise/handshake_state.h"
#include "crypto/noise/pipes.h"
#include "net/address.h"
#include "net/event_loop.h"
#include "net/fd.h"

namespace ferry::bench::chat {

class LoadConnection final : public net::IoHandler {
 public:
  struct Callbacks {
    std::function<void(LoadConnection&)> ready;  // handshake done
    std::function<void(LoadConnection&, ferry::chat::pb::Response&)> response;
    std::function<void(LoadConnection&, const std::string& why)> failed;
  };

  LoadConnection(net::EventLoop& loop, int index, const crypto::DhKeyPair& login,
                 const std::string& server_key, Callbacks* callbacks);
  ~LoadConnection();

  bool start(const net::SocketAddress& server);
  void send(ferry::chat::pb::Request& request);  // assigns the id
  void close();
  void on_io(uint32_t events) override;

  int index() const { return index_; }
  bool ready() const { return transport_.has_value(); }
  bool open() const { return fd_.valid(); }

  // Per-client benchmark state, kept here to save a second table.
  uint32_t in_flight = 0;

 private:
  void on_frame(std::span<const uint8_t> frame);
  void write_out();
  void fail(const std::string& why);
  void update_interest();

  net::EventLoop& loop_;
  int index_;
  crypto::DhKeyPair login_;
  std::string server_key_;
  Callbacks* cb_;
  net::Fd fd_;
  bool connecting_ = true;
  std::optional<crypto::noise::PipesInitiator> hs_;
  std::optional<crypto::noise::Transport> transport_;
  ferry::chat::wire::FrameDecoder decoder_;
  crypto::Bytes out_;
  size_t out_sent_ = 0;
  uint32_t interest_ = 0;
  uint64_t next_id_ = 1;
};

}  // namespace ferry::bench::chat
