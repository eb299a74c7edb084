#include "load_connection.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "net/socket.h"

namespace ferry::bench::chat {

namespace noise = crypto::noise;

LoadConnection::LoadConnection(net::EventLoop& loop, int index, const crypto::DhKeyPair& login,
                               const std::string& server_key, Callbacks* callbacks)
    : loop_(loop), index_(index), login_(login), server_key_(server_key), cb_(callbacks) {}

LoadConnection::~LoadConnection() {
  close();
}

bool LoadConnection::start(const net::SocketAddress& server) {
  int err = 0;
  fd_ = net::connect_tcp(server, err);
  if (!fd_) return false;
  net::set_nodelay(fd_.get());
  interest_ = EPOLLOUT;
  return loop_.add(fd_.get(), interest_, this);
}

void LoadConnection::close() {
  if (!fd_) return;
  loop_.remove(fd_.get());
  fd_.reset();
}

void LoadConnection::fail(const std::string& why) {
  close();
  if (cb_->failed) cb_->failed(*this, why);
}

void LoadConnection::on_io(uint32_t events) {
  if (!fd_) return;
  if (connecting_) {
    if (int err = net::socket_error(fd_.get()); err != 0) return fail(std::strerror(err));
    connecting_ = false;
    auto hs =
        noise::PipesInitiator::create(login_, crypto::Bytes(server_key_.begin(), server_key_.end()),
                                      crypto::as_bytes(noise::kFerryPrologue));
    if (!hs) return fail("handshake set-up");
    hs_.emplace(std::move(hs).value());
    auto m = hs_->write_message({});
    if (!m) return fail("handshake write");
    out_.push_back(static_cast<uint8_t>(m->size() >> 8));
    out_.push_back(static_cast<uint8_t>(m->size() & 0xff));
    out_.insert(out_.end(), m->begin(), m->end());
  }
  if (events & EPOLLIN) {
    uint8_t buf[65536];
    for (int i = 0; i < 8 && fd_; ++i) {
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n == 0) return fail("closed by the server");
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        return fail(std::strerror(errno));
      }
      std::span<const uint8_t> in(buf, static_cast<size_t>(n));
      for (;;) {
        auto r = decoder_.next(in);
        if (r.status == ferry::chat::wire::FrameDecoder::Status::need_more) break;
        if (r.status == ferry::chat::wire::FrameDecoder::Status::error) return fail(r.error);
        on_frame(r.frame);
        if (!fd_) return;
      }
      if (static_cast<size_t>(n) < sizeof buf) break;
    }
  }
  if (fd_ && (events & (EPOLLHUP | EPOLLERR))) return fail("connection reset");
  write_out();
}

void LoadConnection::on_frame(std::span<const uint8_t> frame) {
  if (!transport_) {
    if (!hs_->read_message(frame)) return fail("handshake refused");
    if (!hs_->is_complete()) return fail("unexpected handshake step");
    auto t = hs_->split();
    if (!t) return fail("split");
    transport_.emplace(std::move(t).value());
    hs_.reset();
    if (cb_->ready) cb_->ready(*this);
    return;
  }
  crypto::Bytes plain;
  if (!transport_->recv.decrypt_with_ad({}, frame, plain)) return fail("undecryptable");
  ferry::chat::pb::Response r;
  const char* why = "";
  if (!ferry::chat::decode_response(plain, r, why)) return fail(why);
  if (cb_->response) cb_->response(*this, r);
}

void LoadConnection::send(ferry::chat::pb::Request& request) {
  if (!fd_ || !transport_) return;
  request.set_id(next_id_++);
  std::string plain;
  ferry::chat::append_serialized(request, plain);
  size_t at = out_.size();
  out_.resize(at + 2);
  if (!transport_->send.encrypt_with_ad({}, crypto::as_bytes(plain), out_)) return fail("encrypt");
  size_t len = out_.size() - at - 2;
  out_[at] = static_cast<uint8_t>(len >> 8);
  out_[at + 1] = static_cast<uint8_t>(len & 0xff);
  write_out();
}

void LoadConnection::write_out() {
  while (fd_ && out_sent_ < out_.size()) {
    ssize_t n = ::send(fd_.get(), out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
    if (n > 0) {
      out_sent_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    return fail(std::strerror(errno));
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
  update_interest();
}

void LoadConnection::update_interest() {
  if (!fd_) return;
  uint32_t ev = EPOLLIN | (out_sent_ < out_.size() || connecting_ ? EPOLLOUT : 0u);
  if (ev != interest_) {
    loop_.modify(fd_.get(), ev, this);
    interest_ = ev;
  }
}

}  // namespace ferry::bench::chat
