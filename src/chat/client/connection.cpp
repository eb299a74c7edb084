#include "chat/client/connection.h"

#include "chat/client/errors.h"
#include "crypto/noise/pipes.h"

namespace ferry::chat::client {

namespace noise = crypto::noise;

std::unique_ptr<Connection> Connection::open(const Target& target, const crypto::DhKeyPair& login,
                                             const std::string& pinned_key, uint64_t deadline_ms) {
  std::unique_ptr<Connection> c(new Connection(Transport::connect(target, deadline_ms)));
  c->handshake(login, pinned_key, deadline_ms);
  return c;
}

void Connection::protocol_error(const std::string& what) const {
  throw ClientError(ExitCode::error, "bad answer from the server (" + what + ")");
}

void Connection::handshake(const crypto::DhKeyPair& login, const std::string& pinned,
                           uint64_t deadline_ms) {
  std::optional<crypto::Bytes> pin;
  if (!pinned.empty()) pin = crypto::Bytes(pinned.begin(), pinned.end());
  auto created = noise::PipesInitiator::create(login, pin, crypto::as_bytes(noise::kFerryPrologue),
                                               noise::PinPolicy::strict);
  if (!created) throw ClientError(ExitCode::error, "cannot start the Noise handshake");
  auto hs = std::move(created).value();
  const std::string where = transport_->target().describe();
  while (!hs.is_complete()) {
    if (hs.needs_write()) {
      auto msg = hs.write_message({});
      if (!msg) throw ClientError(ExitCode::error, "Noise handshake failed");
      send_frame(*msg);
      flush(deadline_ms);
      continue;
    }
    while (handshake_frames_.empty()) {
      if (now_ms() >= deadline_ms)
        throw ClientError(ExitCode::unreachable,
                          "server unreachable: no handshake answer from " + where);
      wait_io(deadline_ms);
      read_available(true);
    }
    auto frame = std::move(handshake_frames_.front());
    handshake_frames_.pop_front();
    auto payload = hs.read_message(frame);
    if (!payload) {
      if (payload.code() == crypto::Errc::bad_key)
        throw ClientError(ExitCode::error,
                          "the server's key is not the one in the server link: someone may be "
                          "in the middle, or the server changed its key");
      throw ClientError(ExitCode::error, "Noise handshake with the server failed");
    }
  }
  auto t = hs.split();
  auto rs = hs.remote_static();
  if (!t || !rs) throw ClientError(ExitCode::error, "Noise handshake with the server failed");
  noise_.emplace(std::move(t).value());
  server_key_.assign(reinterpret_cast<const char*>(rs->data()), rs->size());
  // Frames that came right behind the last handshake message are transport.
  auto early = std::move(handshake_frames_);
  handshake_frames_.clear();
  for (auto& f : early) {
    crypto::Bytes plain;
    if (!noise_->recv.decrypt_with_ad({}, f, plain)) protocol_error("undecryptable frame");
    pb::Response r;
    const char* why = "";
    if (!decode_response(plain, r, why)) protocol_error(why);
    to_inbox(std::move(r), plain.size());
  }
}

void Connection::send_frame(std::span<const uint8_t> body) {
  out_.push_back(static_cast<uint8_t>(body.size() >> 8));
  out_.push_back(static_cast<uint8_t>(body.size() & 0xff));
  out_.insert(out_.end(), body.begin(), body.end());
}

uint64_t Connection::queue(pb::Request& request) {
  request.set_id(next_id_++);
  std::string plain;
  append_serialized(request, plain);
  if (plain.size() > kMaxPlaintext) throw ClientError(ExitCode::error, "request too large");
  size_t at = out_.size();
  out_.resize(at + wire::kLengthSize);
  if (!noise_->send.encrypt_with_ad({}, crypto::as_bytes(plain), out_))
    throw ClientError(ExitCode::error, "cannot encrypt (session worn out; reconnect)");
  size_t length = out_.size() - at - wire::kLengthSize;
  out_[at] = static_cast<uint8_t>(length >> 8);
  out_[at + 1] = static_cast<uint8_t>(length & 0xff);
  return request.id();
}

bool Connection::write_available() {
  bool any = false;
  while (out_sent_ < out_.size()) {
    size_t n = transport_->write_some({out_.data() + out_sent_, out_.size() - out_sent_});
    if (n == 0) break;
    out_sent_ += n;
    any = true;
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
  return any;
}

bool Connection::read_available(bool handshake_frames) {
  uint8_t buf[16384];
  bool any = false;
  for (int i = 0; i < 64; ++i) {
    size_t n = transport_->read_some(buf);
    if (n == 0) break;
    any = true;
    std::span<const uint8_t> in(buf, n);
    for (;;) {
      auto r = decoder_.next(in);
      if (r.status == wire::FrameDecoder::Status::need_more) break;
      if (r.status == wire::FrameDecoder::Status::error) protocol_error(r.error);
      if (handshake_frames || !noise_) {
        handshake_frames_.emplace_back(r.frame.begin(), r.frame.end());
        continue;
      }
      crypto::Bytes plain;
      if (!noise_->recv.decrypt_with_ad({}, r.frame, plain)) protocol_error("undecryptable frame");
      pb::Response resp;
      const char* why = "";
      if (!decode_response(plain, resp, why)) protocol_error(why);
      to_inbox(std::move(resp), plain.size());
    }
    if (n < sizeof buf && !transport_->has_buffered()) break;
  }
  return any;
}

void Connection::wait_io(uint64_t deadline_ms) {
  if (transport_->has_buffered()) return;
  transport_->wait(queued_bytes() > 0, deadline_ms);
}

void Connection::pump_now() {
  write_available();
  read_available(false);
}

void Connection::flush(uint64_t deadline_ms) {
  while (queued_bytes() > 0) {
    write_available();
    read_available(!noise_);
    if (queued_bytes() == 0) break;
    if (now_ms() >= deadline_ms)
      throw ClientError(ExitCode::unreachable,
                        "connection to " + transport_->target().describe() + " stalled");
    wait_io(deadline_ms);
  }
}

void Connection::to_inbox(pb::Response&& r, size_t plain_bytes) {
  if (inbox_bytes_ + plain_bytes > kMaxInboxBytes)
    protocol_error("the server sent more than " + std::to_string(kMaxInboxBytes >> 20) +
                   " MiB of responses that were not handled yet");
  inbox_bytes_ += plain_bytes;
  inbox_.push_back({std::move(r), plain_bytes});
}

std::optional<pb::Response> Connection::next_now() {
  if (inbox_.empty()) return std::nullopt;
  Inbound in = std::move(inbox_.front());
  inbox_.pop_front();
  inbox_bytes_ -= in.bytes;
  return std::move(in.response);
}

std::optional<pb::Response> Connection::next(uint64_t deadline_ms) {
  for (;;) {
    if (auto r = next_now()) return r;
    write_available();
    if (read_available(false)) continue;
    if (now_ms() >= deadline_ms) return std::nullopt;
    wait_io(deadline_ms);
  }
}

}  // namespace ferry::chat::client
