// Session: I/O, PROXY header, Noise handshake, framing, timers, close.
// Request handling and delivery are in session_requests.cpp.
#include "chat/server/session.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "chat/server/server.h"
#include "chat/server/session_submit.h"
#include "common/log.h"
#include "net/proxy_protocol.h"

namespace ferry::chat::server {

namespace pp = net::proxy_protocol;

Session::Session(Server& server, net::Fd fd, uint64_t id, const net::SocketAddress& peer,
                 bool expect_proxy_header)
    : server_(server),
      fd_(std::move(fd)),
      id_(id),
      peer_(peer),
      admitted_(!expect_proxy_header),
      stage_(expect_proxy_header ? Stage::proxy_header : Stage::handshake),
      decoder_(server.options().max_frame),
      requests_(server.options().request_burst, server.loop().now_ms()),
      started_ms_(server.loop().now_ms()),
      last_activity_ms_(started_ms_) {}

Session::~Session() = default;

bool Session::start() {
  interest_ = EPOLLIN | EPOLLRDHUP;
  if (!server_.loop().add(fd_.get(), interest_, this)) return false;
  arm_timer();
  return true;
}

void Session::on_io(uint32_t events) {
  if (closed()) return;
  in_event_ = true;
  if (events & EPOLLOUT) {
    write_out();
    if (closed()) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    // Paused while the login lookup runs; a hang-up is reported even then.
    if (reading_ && !half_closed_ && stage_ != Stage::logging_in) {
      read_input();
    } else if (events & (EPOLLHUP | EPOLLERR)) {
      close(CloseReason::io_error, "connection reset while paused");
    }
  }
  in_event_ = false;
  if (!closed()) flush();
}

void Session::read_input() {
  auto buf = server_.read_buffer();
  // A few reads per wake-up at most: level-triggered epoll brings us back,
  // and other sessions get their turn in between.
  // A login lookup pauses reading: what came with the handshake is stashed
  // (one read at most), the rest waits in the socket.
  for (int i = 0; i < 4 && reading_ && stage_ != Stage::logging_in && !closed(); ++i) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n > 0) {
      last_activity_ms_ = server_.loop().now_ms();
      consume(buf.first(static_cast<size_t>(n)));
      if (static_cast<size_t>(n) < buf.size()) return;
      continue;
    }
    if (n == 0) {
      if (decoder_.partial_bytes() > 0 || !proxy_buf_.empty()) {
        close(CloseReason::truncated, "end of stream inside a frame");
      } else if (stage_ == Stage::open && (pending_ops_ > 0 || out_.size() > out_sent_)) {
        // Half-close: answer what was asked, then close.
        half_closed_ = true;
        update_interest();
      } else {
        close(CloseReason::client_closed);
      }
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EINTR) continue;
    close(CloseReason::io_error, std::strerror(errno));
    return;
  }
}

void Session::consume(std::span<const uint8_t> bytes) {
  if (stage_ == Stage::proxy_header && !consume_proxy_header(bytes)) return;
  bool completed = false;
  while (!closed()) {
    auto r = decoder_.next(bytes);
    if (r.status == wire::FrameDecoder::Status::need_more) break;
    if (r.status == wire::FrameDecoder::Status::error) {
      close(CloseReason::bad_frame, r.error);
      return;
    }
    const auto& o = server_.options();
    if (!requests_.take(o.request_rate, o.request_burst, server_.loop().now_ms())) {
      close(CloseReason::flood, "request rate exceeded");
      return;
    }
    completed = true;
    if (!on_frame(r.frame)) return;
    if (stage_ == Stage::logging_in) {
      // Reading stops for the login lookup; what came with the handshake
      // message (the rest of this one read) waits here.
      stash_.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      return;
    }
  }
  // The frame timeout runs from when the frame now in pieces began.
  if (decoder_.partial_bytes() == 0) {
    partial_since_ms_ = 0;
  } else if (partial_since_ms_ == 0 || completed) {
    partial_since_ms_ = server_.loop().now_ms();
    arm_timer();
  }
}

bool Session::consume_proxy_header(std::span<const uint8_t>& bytes) {
  size_t room = pp::kMaxHeaderSize - proxy_buf_.size();
  size_t take = std::min(room, bytes.size());
  proxy_buf_.append(reinterpret_cast<const char*>(bytes.data()), take);
  auto rest = bytes.subspan(take);
  bytes = {};
  auto parsed = pp::parse({reinterpret_cast<const uint8_t*>(proxy_buf_.data()), proxy_buf_.size()});
  if (parsed.status == pp::Status::incomplete) {
    if (proxy_buf_.size() >= pp::kMaxHeaderSize) close(CloseReason::bad_proxy_header, "too long");
    return false;
  }
  if (parsed.status == pp::Status::invalid) {
    close(CloseReason::bad_proxy_header, parsed.error);
    return false;
  }
  if (!parsed.header.local && parsed.header.source) peer_ = parsed.header.source->unmapped();
  if (!server_.admit(peer_)) {
    close(CloseReason::refused, "per-IP limit");
    return false;
  }
  admitted_ = true;
  ++server_.stats().accepted_via_proxy;
  stage_ = Stage::handshake;
  // What followed the header is the start of the Noise stream.
  std::string after = proxy_buf_.substr(parsed.consumed);
  after.append(reinterpret_cast<const char*>(rest.data()), rest.size());
  proxy_buf_.clear();
  proxy_buf_.shrink_to_fit();
  if (!after.empty()) consume({reinterpret_cast<const uint8_t*>(after.data()), after.size()});
  return false;  // everything was consumed here
}

bool Session::on_frame(std::span<const uint8_t> frame) {
  if (stage_ == Stage::handshake) return on_handshake_frame(frame);
  if (stage_ == Stage::open) return on_transport_frame(frame);
  return false;
}

bool Session::on_handshake_frame(std::span<const uint8_t> frame) {
  if (!handshake_) {
    auto created = crypto::noise::PipesResponder::create(
        server_.static_key(), crypto::as_bytes(crypto::noise::kFerryPrologue));
    if (!created) {
      close(CloseReason::handshake_failed, "responder set-up failed");
      return false;
    }
    handshake_ = std::make_unique<crypto::noise::PipesResponder>(std::move(created).value());
  }
  // Handshake payloads carry nothing in this protocol version; any the
  // client sends are authenticated by Noise and ignored.
  auto payload = handshake_->read_message(frame);
  if (!payload) {
    close(CloseReason::handshake_failed, payload.error().detail);
    return false;
  }
  while (handshake_->needs_write()) {
    auto message = handshake_->write_message({});
    if (!message) {
      close(CloseReason::handshake_failed, message.error().detail);
      return false;
    }
    send_handshake(*message);
  }
  if (handshake_->is_complete()) finish_handshake();
  return !closed();
}

void Session::finish_handshake() {
  auto transport = handshake_->split();
  auto remote = handshake_->remote_static();
  if (!transport || !remote) {
    close(CloseReason::handshake_failed, "no transport keys");
    return;
  }
  switch (handshake_->mode()) {
    case crypto::noise::PipesType::ik:
      ++server_.stats().handshakes_ik;
      break;
    case crypto::noise::PipesType::xx:
      ++server_.stats().handshakes_xx;
      break;
    case crypto::noise::PipesType::xx_fallback:
      ++server_.stats().handshakes_fallback;
      break;
  }
  transport_.emplace(std::move(transport).value());
  login_key_.assign(reinterpret_cast<const char*>(remote->data()), remote->size());
  handshake_.reset();
  stage_ = Stage::logging_in;
  update_interest();

  struct State {
    std::string login;
    std::optional<Account> account;
    uint32_t one_time = 0;
  };
  submit(
      State{login_key_, {}, 0},
      [](ServerStore& store, State& st) {
        st.account = store.account_by_login(st.login);
        if (st.account) st.one_time = store.count_one_time_prekeys(st.account->id);
      },
      [](Server&, Session* s, bool committed, State& st) {
        if (!s) return;
        if (!committed) {
          s->close(CloseReason::io_error, "login lookup failed");
          return;
        }
        s->on_login(std::move(st.account), st.one_time);
      });
}

void Session::on_login(std::optional<Account> account, uint32_t one_time_prekeys) {
  stage_ = Stage::open;
  if (account) {
    // Bound to the account (replacing its other session) only once a frame
    // from the client decrypts: an IK first message can be replayed by
    // anyone, and proves nothing until then.
    // Nor is anything pushed before then: a replayer would learn from it.
    account_ = std::move(account);
    if (one_time_prekeys < server_.options().prekeys_low) prekeys_low_at_login_ = one_time_prekeys;
  }
  std::string early = std::move(stash_);
  stash_ = {};
  update_interest();
  arm_timer();
  if (!early.empty()) consume({reinterpret_cast<const uint8_t*>(early.data()), early.size()});
}

void Session::become_account(const Account& account) {
  account_ = account;
  bind_account();
}

void Session::bind_account() {
  bound_ = true;
  if (Session* old = server_.router().bind(account_->id, this)) old->close(CloseReason::replaced);
}

bool Session::on_transport_frame(std::span<const uint8_t> frame) {
  auto& plain = server_.scratch();
  plain.clear();
  auto ok = transport_->recv.decrypt_with_ad({}, frame, plain);
  if (!ok) {
    close(CloseReason::decrypt_failed, ok.error().detail);
    return false;
  }
  if (account_ && !bound_) {  // the client holds its keys
    bind_account();
    if (prekeys_low_at_login_) push_prekeys_low(*std::exchange(prekeys_low_at_login_, {}));
  }
  pb::Request request;
  const char* why = "";
  auto decoded = decode_request(plain, request, why);
  if (decoded == Decoded::malformed) {
    close(CloseReason::malformed_request, why);
    return false;
  }
  ++server_.stats().requests;
  if (decoded == Decoded::bad_request) {
    ++server_.stats().bad_requests;
    send_response(make_error(request.id(), pb::BAD_REQUEST, why));
    return true;
  }
  handle(request);
  return !closed();
}

void Session::send_handshake(const crypto::Bytes& message) {
  if (message.empty() || message.size() > wire::kMaxFrame) {
    close(CloseReason::handshake_failed, "handshake message size");
    return;
  }
  out_.push_back(static_cast<uint8_t>(message.size() >> 8));
  out_.push_back(static_cast<uint8_t>(message.size() & 0xff));
  out_.insert(out_.end(), message.begin(), message.end());
  mark_dirty();
}

void Session::send_response(const pb::Response& response) {
  if (closed() || !transport_) return;
  std::string& plain = server_.plain_scratch();
  plain.clear();
  append_serialized(response, plain);
  if (plain.size() > kMaxPlaintext) {
    log::error("chat_response_too_large", {{"bytes", plain.size()}});
    close(CloseReason::io_error, "response too large");
    return;
  }
  size_t at = out_.size();
  out_.resize(at + wire::kLengthSize);
  auto ok = transport_->send.encrypt_with_ad({}, crypto::as_bytes(plain), out_);
  if (!ok) {
    out_.resize(at);
    close(CloseReason::io_error, ok.error().detail);
    return;
  }
  size_t length = out_.size() - at - wire::kLengthSize;
  out_[at] = static_cast<uint8_t>(length >> 8);
  out_[at + 1] = static_cast<uint8_t>(length & 0xff);
  if (out_.size() - out_sent_ > server_.options().max_output) {
    close(CloseReason::slow_reader, "output limit");
    return;
  }
  mark_dirty();
}

void Session::mark_dirty() {
  if (dirty_ || in_event_ || closed()) return;
  dirty_ = true;
  server_.mark_dirty(id_);
}

void Session::flush() {
  dirty_ = false;
  if (closed()) return;
  if (push_) encode_push(delivery_ == Delivery::live);
  if (closed()) return;
  write_out();
  if (closed()) return;
  maybe_load();  // delivery may have waited for the client to read
  if (half_closed_ && idle_for_shutdown()) {
    close(CloseReason::client_closed);
    return;
  }
  update_interest();
}

void Session::write_out() {
  while (out_sent_ < out_.size()) {
    ssize_t n = ::send(fd_.get(), out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
    if (n > 0) {
      out_sent_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      want_write_ = true;
      // Drop what was sent once it is most of the buffer, so a steady
      // trickle never grows it.
      if (out_sent_ > (64u << 10) && out_sent_ * 2 > out_.size()) {
        out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_sent_));
        out_sent_ = 0;
      }
      update_interest();
      return;
    }
    close(CloseReason::io_error, n < 0 ? std::strerror(errno) : "send returned 0");
    return;
  }
  out_.clear();
  out_sent_ = 0;
  // An idle session keeps no output memory beyond a small buffer.
  if (out_.capacity() > 4096) out_.shrink_to_fit();
  want_write_ = false;
}

void Session::stop_reading() {
  reading_ = false;
  update_interest();
}

void Session::update_interest() {
  if (closed()) return;
  const auto& o = server_.options();
  bool paused = stage_ == Stage::logging_in || pending_ops_ >= o.max_pending_ops ||
                pending_bytes_ >= o.max_pending_bytes ||
                out_.size() - out_sent_ > o.max_output / 2 || half_closed_;
  uint32_t ev = (reading_ && !paused ? EPOLLIN | EPOLLRDHUP : 0u) | (want_write_ ? EPOLLOUT : 0u);
  if (ev != interest_) {
    server_.loop().modify(fd_.get(), ev, this);
    interest_ = ev;
  }
}

void Session::arm_timer() {
  if (closed()) return;
  const auto& o = server_.options();
  uint64_t due;
  if (stage_ != Stage::open) {
    due = started_ms_ + static_cast<uint64_t>(o.handshake_timeout.count());
  } else {
    due = last_activity_ms_ + static_cast<uint64_t>(o.idle_timeout.count());
  }
  if (partial_since_ms_ != 0)
    due = std::min(due, partial_since_ms_ + static_cast<uint64_t>(o.frame_timeout.count()));
  if (retry_load_at_ms_ != 0) due = std::min(due, retry_load_at_ms_);
  if (!timer_.armed() || timer_.due_ms() != due) server_.loop().schedule(timer_, due, this);
}

void Session::on_timer() {
  if (closed()) return;
  const auto& o = server_.options();
  uint64_t now = server_.loop().now_ms();
  if (stage_ != Stage::open) {
    if (now >= started_ms_ + static_cast<uint64_t>(o.handshake_timeout.count())) {
      close(CloseReason::handshake_timeout);
      return;
    }
  } else if (now >= last_activity_ms_ + static_cast<uint64_t>(o.idle_timeout.count())) {
    close(CloseReason::idle_timeout);
    return;
  }
  if (partial_since_ms_ != 0 &&
      now >= partial_since_ms_ + static_cast<uint64_t>(o.frame_timeout.count())) {
    close(CloseReason::frame_timeout);
    return;
  }
  if (retry_load_at_ms_ != 0 && now >= retry_load_at_ms_) {
    retry_load_at_ms_ = 0;
    in_event_ = true;
    maybe_load();
    in_event_ = false;
  }
  arm_timer();
  flush();
}

void Session::close(CloseReason reason, std::string_view detail) {
  if (closed()) return;
  stage_ = Stage::closed;
  ++server_.stats().closed_by(reason);
  bool peer_fault = reason != CloseReason::client_closed && reason != CloseReason::replaced &&
                    reason != CloseReason::shutdown;
  if (peer_fault) {
    if (log::log_client_addresses()) {
      log::write_limited(log::Level::info, "chat_connection_closed",
                         {{"reason", close_reason_name(reason)},
                          {"detail", detail},
                          {"session", id_},
                          {"client", peer_.to_string()}});
    } else {
      log::write_limited(
          log::Level::info, "chat_connection_closed",
          {{"reason", close_reason_name(reason)}, {"detail", detail}, {"session", id_}});
    }
  } else {
    log::debug("chat_connection_closed", {{"reason", close_reason_name(reason)}, {"session", id_}});
  }
  timer_.cancel();
  server_.loop().remove(fd_.get());
  fd_.reset();
  if (account_) server_.router().unbind(account_->id, this);
  if (admitted_) server_.release(peer_);
  handshake_.reset();
  transport_.reset();
  push_.reset();
  server_.on_session_closed(this);
}

}  // namespace ferry::chat::server
