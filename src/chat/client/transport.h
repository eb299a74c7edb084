// The client's byte stream to the server: plain TCP, or TLS to a proxy
// (OpenSSL, via net::tls::make_client_context()). Blocking calls with
// deadlines; the socket itself is non-blocking so a censor that drops
// packets costs a timeout, never a hang.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "net/address.h"
#include "net/fd.h"
#include "net/tls.h"

namespace ferry::chat::client {

struct Target {
  net::HostPort address;
  bool tls = false;
  bool via_proxy = false;        // only for error messages: "proxy unreachable"
  std::string describe() const;  // "server 10.0.0.1:7000" / "proxy tls://h:443"
};

uint64_t now_ms();  // monotonic

class Transport {
 public:
  // Resolves, connects and (for TLS) handshakes before `deadline_ms`.
  // Throws ClientError(unreachable) naming the target.
  static std::unique_ptr<Transport> connect(const Target& target, uint64_t deadline_ms);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Writes as much as the socket takes now (0 if none). Throws on error.
  size_t write_some(std::span<const uint8_t> data);
  // Reads what is there now: >0 bytes, 0 = nothing yet. Throws on EOF or error
  // (EOF: "connection closed by ...").
  size_t read_some(std::span<uint8_t> buf);
  // Waits until readable (or also writable, if `want_write`), or the
  // deadline. false on timeout.
  bool wait(bool want_write, uint64_t deadline_ms);
  // TLS may hold decrypted bytes the socket no longer shows.
  bool has_buffered() const;
  int fd() const { return fd_.get(); }
  const Target& target() const { return target_; }

 private:
  Transport(Target target, net::Fd fd) : target_(std::move(target)), fd_(std::move(fd)) {}
  void tls_handshake(uint64_t deadline_ms);
  [[noreturn]] void fail(const std::string& what) const;

  Target target_;
  net::Fd fd_;
  net::tls::SslCtxPtr ctx_;
  SSL* ssl_ = nullptr;
  bool tls_wants_write_ = false;
};

}  // namespace ferry::chat::client
