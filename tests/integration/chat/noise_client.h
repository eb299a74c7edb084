// A raw Noise Pipes client for tests that must send what `ferry` never would:
// undecodable requests, floods, replays. Blocking, every wait bounded.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "chat/proto/messages.h"
#include "chat/wire/frame.h"
#include "chat/wire/links.h"
#include "crypto/keys.h"
#include "crypto/noise/pipes.h"
#include "harness/harness.h"

namespace ferry::test::chat {

class NoiseClient {
 public:
  // Connects to 127.0.0.1:port; `prefix` is sent first (a PROXY header).
  NoiseClient(uint16_t port, const std::string& link, const std::string& prefix = "")
      : fd_(connect_to("127.0.0.1", port)) {
    std::string error;
    auto l = ferry::chat::ServerLink::parse(link, error);
    if (l) key_ = l->key;
    if (fd_ && !prefix.empty()) send_all(fd_.get(), prefix);
  }

  bool connected() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }

  // IK with the pinned key. Every frame written is kept in sent_frames.
  bool handshake() {
    namespace noise = crypto::noise;
    auto hs = noise::PipesInitiator::create(login_, crypto::Bytes(key_.begin(), key_.end()),
                                            crypto::as_bytes(noise::kFerryPrologue));
    if (!hs) return false;
    while (!hs->is_complete()) {
      if (hs->needs_write()) {
        auto m = hs->write_message({});
        if (!m || !write_frame(*m)) return false;
      } else {
        auto f = read_frame();
        if (!f || !hs->read_message(crypto::as_bytes(*f))) return false;
      }
    }
    auto t = hs->split();
    if (!t) return false;
    transport_.emplace(std::move(t).value());
    return true;
  }

  bool write_frame(crypto::ByteView body, Duration limit = 10s) {
    std::string frame;
    ferry::chat::wire::append_frame(frame, body);
    if (keep_frames) sent_frames.push_back(frame);
    return send_all(fd_.get(), frame, limit);
  }
  bool send_plain(const std::string& plain, Duration limit = 10s) {
    auto c = transport_->send.encrypt(crypto::as_bytes(plain));
    return c && write_frame(*c, limit);
  }
  bool send(ferry::chat::pb::Request& r, Duration limit = 10s) {
    std::string plain;
    ferry::chat::append_serialized(r, plain);
    return send_plain(plain, limit);
  }
  // Registers `username` for this client's login key; true once the server
  // says so.
  bool register_as(const std::string& username, uint64_t id = 50) {
    auto identity = crypto::IdentityKeyPair::generate();
    ferry::chat::pb::Request r;
    r.set_id(id);
    auto* reg = r.mutable_register_();
    reg->set_username(username);
    auto key = identity.public_key().bytes();
    reg->set_identity_key(std::string(key.begin(), key.end()));
    std::string login(login_.public_key.begin(), login_.public_key.end());
    auto sig = identity.sign(crypto::as_bytes(ferry::chat::registration_message(login, username)));
    reg->set_signature(std::string(sig.begin(), sig.end()));
    if (!send(r)) return false;
    for (int i = 0; i < 16; ++i) {
      auto answer = receive(5s);
      if (!answer) return false;
      if (answer->id() == id) return answer->has_registered();
    }
    return false;
  }
  bool ping(uint64_t id) {
    ferry::chat::pb::Request r;
    r.set_id(id);
    r.mutable_ping();
    return send(r);
  }

  std::optional<std::string> read_frame(Duration limit = 10s) {
    auto header = recv_exact(fd_.get(), 2, limit);
    if (!header) return std::nullopt;
    size_t n =
        (size_t{static_cast<uint8_t>((*header)[0])} << 8) | static_cast<uint8_t>((*header)[1]);
    return recv_exact(fd_.get(), n, limit);
  }
  std::optional<ferry::chat::pb::Response> receive(Duration limit = 10s) {
    auto f = read_frame(limit);
    if (!f) return std::nullopt;
    auto plain = transport_->recv.decrypt(crypto::as_bytes(*f));
    if (!plain) return std::nullopt;
    ferry::chat::pb::Response r;
    if (!r.ParseFromArray(plain->data(), static_cast<int>(plain->size()))) return std::nullopt;
    return r;
  }
  // Ping and wait for the Pong (skipping pushes).
  bool alive(uint64_t id = 99) {
    if (!ping(id)) return false;
    for (int i = 0; i < 16; ++i) {
      auto r = receive(5s);
      if (!r) return false;
      if (r->id() == id && r->has_pong()) return true;
    }
    return false;
  }

  std::vector<std::string> sent_frames;
  bool keep_frames = true;  // off for floods

 private:
  net::Fd fd_;
  std::string key_;
  crypto::DhKeyPair login_ = crypto::dh_generate(crypto::DhKind::x25519);  // static key
  std::optional<crypto::noise::Transport> transport_;
};

}  // namespace ferry::test::chat
