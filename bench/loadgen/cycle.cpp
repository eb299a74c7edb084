// Short connections: connect (and, for TLS, a full handshake without
// resumption), a 16-byte echo, close. What a relay spends setting up and
// tearing down a connection, which is most of what it does for clients
// that reconnect often.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "clock.h"
#include "cpu_report.h"
#include "latency.h"
#include "report.h"
#include "support/poller.h"
#include "support/proc_cpu.h"
#include "support/stop_signal.h"
#include "support/tcp.h"
#include "workloads.h"

namespace ferry::bench {
namespace {

constexpr int kEchoBytes = 16;

struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};
struct CtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;
using CtxPtr = std::unique_ptr<SSL_CTX, CtxDeleter>;

enum class Stage { idle, connecting, handshaking, writing, reading };

struct Slot {
  net::Fd fd;
  SslPtr ssl;
  Stage stage = Stage::idle;
  int done = 0;
  uint32_t generation = 0;
  uint32_t interest = 0;
  uint64_t started_ns = 0;
  uint64_t retry_at_ns = 0;
};

uint64_t tag(size_t index, uint32_t generation) {
  return (static_cast<uint64_t>(index) << 32) | generation;
}

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error";
  std::array<char, 256> buf{};
  ERR_error_string_n(code, buf.data(), buf.size());
  return buf.data();
}

// Full handshakes only: no session cache, no tickets; certificates are not
// verified (the relay's is self-signed), but TLS 1.3 still checks the
// server's CertificateVerify signature, so the server pays the full cost.
CtxPtr make_client_context() {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return ctx;
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  return ctx;
}

class Cycles {
 public:
  Cycles(const Options& opt, SSL_CTX* tls)
      : opt_(opt),
        tls_(tls),
        cpu_(opt),
        slots_(static_cast<size_t>(std::max(1, opt.concurrency))) {}

  int run() {
    StopSignal stop;
    uint64_t start = now_ns();
    uint64_t measure_from = start + seconds_to_ns(opt_.warmup_s);
    uint64_t end = measure_from + seconds_to_ns(opt_.duration_s);
    bool measuring = false;
    uint64_t measured_from_ns = measure_from;
    std::array<epoll_event, 512> events{};
    uint64_t now = start;
    while (now < end && !stop.pending()) {
      if (!measuring && now >= measure_from) {
        measuring = true;
        measured_from_ns = now;
        completed_ = 0;
        latencies_.clear();
        cpu_.start();
      }
      measuring_ = measuring;
      launch_idle(now);
      int n = poller_.wait(events, 10);
      for (int i = 0; i < n; ++i) handle(events[static_cast<size_t>(i)]);
      now = now_ns();
      expire(now);
    }
    if (!measuring) {
      measured_from_ns = now;
      completed_ = 0;
      cpu_.start();
    }
    cpu_.stop();
    report(static_cast<double>(now - measured_from_ns) / 1e9);
    return 0;
  }

 private:
  void launch_idle(uint64_t now) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].stage == Stage::idle && slots_[i].retry_at_ns <= now) launch(i, now);
    }
  }

  void launch(size_t i, uint64_t now) {
    Slot& s = slots_[i];
    int err = 0;
    s.fd = start_connect(opt_.target, err);
    if (!s.fd) {
      errors_.add("connect", err);
      s.retry_at_ns = now + 10'000'000;  // e.g. no free local port: back off
      return;
    }
    ++s.generation;
    s.stage = Stage::connecting;
    s.done = 0;
    s.started_ns = now;
    s.interest = EPOLLOUT;
    if (!poller_.add(s.fd.get(), s.interest, tag(i, s.generation))) fail(i, "epoll_add", errno);
  }

  void want(size_t i, uint32_t events) {
    Slot& s = slots_[i];
    if (s.interest == events) return;
    s.interest = events;
    poller_.modify(s.fd.get(), events, tag(i, s.generation));
  }

  void handle(const epoll_event& ev) {
    size_t i = static_cast<size_t>(ev.data.u64 >> 32);
    if (i >= slots_.size()) return;
    Slot& s = slots_[i];
    if (s.stage == Stage::idle || s.generation != static_cast<uint32_t>(ev.data.u64)) return;
    if (s.stage == Stage::connecting) {
      int err = pending_error(s.fd.get());
      if (err != 0) return fail(i, "connect", err);
      if (tls_ != nullptr) {
        s.ssl.reset(SSL_new(tls_));
        if (!s.ssl || SSL_set_fd(s.ssl.get(), s.fd.get()) != 1)
          return fail_detail(i, "tls_setup", openssl_error());
        SSL_set_connect_state(s.ssl.get());
        s.stage = Stage::handshaking;
      } else {
        s.stage = Stage::writing;
      }
    }
    if (tls_ != nullptr) {
      step_tls(i);
    } else {
      step_plain(i);
    }
  }

  void step_plain(size_t i) {
    Slot& s = slots_[i];
    if (s.stage == Stage::writing) {
      ssize_t n = ::send(s.fd.get(), pattern() + s.done, static_cast<size_t>(kEchoBytes - s.done),
                         MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return want(i, EPOLLOUT);
        return fail(i, "send", errno);
      }
      s.done += static_cast<int>(n);
      if (s.done < kEchoBytes) return want(i, EPOLLOUT);
      s.done = 0;
      s.stage = Stage::reading;
      return want(i, EPOLLIN);
    }
    std::array<unsigned char, kEchoBytes> buf{};
    ssize_t n = ::recv(s.fd.get(), buf.data(), static_cast<size_t>(kEchoBytes - s.done), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return fail(i, "recv", errno);
    }
    if (n == 0) return fail(i, "eof_before_echo");
    if (!accept_echo(i, buf.data(), static_cast<size_t>(n))) return;
    if (s.done == kEchoBytes) complete(i);
  }

  void step_tls(size_t i) {
    Slot& s = slots_[i];
    SSL* ssl = s.ssl.get();
    if (s.stage == Stage::handshaking) {
      int rc = SSL_do_handshake(ssl);
      if (rc != 1) return tls_wait_or_fail(i, rc, "tls_handshake");
      note_session(ssl);
      s.stage = Stage::writing;
    }
    if (s.stage == Stage::writing) {
      int rc = SSL_write(ssl, pattern(), kEchoBytes);
      if (rc <= 0) return tls_wait_or_fail(i, rc, "tls_write");
      s.done = 0;
      s.stage = Stage::reading;
    }
    // Reading: OpenSSL may hold decrypted bytes already, so read until it
    // asks for more input (at most kEchoBytes iterations: each read makes progress).
    while (s.stage == Stage::reading) {
      std::array<unsigned char, kEchoBytes> buf{};
      int rc = SSL_read(ssl, buf.data(), kEchoBytes - s.done);
      if (rc <= 0) return tls_wait_or_fail(i, rc, "tls_read");
      if (!accept_echo(i, buf.data(), static_cast<size_t>(rc))) return;
      if (s.done == kEchoBytes) return complete(i);
    }
  }

  void tls_wait_or_fail(size_t i, int rc, const char* what) {
    Slot& s = slots_[i];
    int code = SSL_get_error(s.ssl.get(), rc);
    if (code == SSL_ERROR_WANT_READ) return want(i, EPOLLIN);
    if (code == SSL_ERROR_WANT_WRITE) return want(i, EPOLLOUT);
    if (code == SSL_ERROR_ZERO_RETURN) return fail(i, "tls_closed_before_echo");
    if (code == SSL_ERROR_SYSCALL) {
      int err = errno;
      ERR_clear_error();
      if (err == 0) return fail(i, "tls_eof");  // peer closed without close_notify
      return fail(i, what, err);
    }
    fail_detail(i, what, openssl_error());
  }

  bool accept_echo(size_t i, const unsigned char* data, size_t n) {
    Slot& s = slots_[i];
    if (std::memcmp(data, pattern() + s.done, n) != 0) {
      fail(i, "echo_mismatch");
      return false;
    }
    s.done += static_cast<int>(n);
    return true;
  }

  void complete(size_t i) {
    Slot& s = slots_[i];
    uint64_t now = now_ns();
    if (measuring_) {
      ++completed_;
      latencies_.add(now - s.started_ns);
    }
    close_slot(i);
    launch(i, now);  // keep `concurrency` operations in flight
  }

  void close_slot(size_t i) {
    Slot& s = slots_[i];
    if (s.ssl) {
      SSL_shutdown(s.ssl.get());  // send close_notify; do not wait for the peer's
      s.ssl.reset();
      ERR_clear_error();
    }
    s.fd.reset();
    s.stage = Stage::idle;
  }

  void fail(size_t i, const char* reason, int err = 0) {
    errors_.add(reason, err);
    abort_slot(i);
  }

  void fail_detail(size_t i, const char* reason, const std::string& detail) {
    errors_.add_detail(reason, detail);
    abort_slot(i);
  }

  void abort_slot(size_t i) {
    Slot& s = slots_[i];
    s.ssl.reset();  // no close_notify on a broken connection
    s.fd.reset();
    s.stage = Stage::idle;
    s.retry_at_ns = now_ns() + 1'000'000;
  }

  void expire(uint64_t now) {
    uint64_t limit = seconds_to_ns(opt_.op_timeout_s);
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (s.stage != Stage::idle && now - s.started_ns > limit) fail(i, "timeout");
    }
  }

  // The first handshake says what was negotiated, so a run with the wrong
  // certificate or protocol shows on the result line.
  void note_session(SSL* ssl) {
    if (!session_.empty()) return;
    session_ = SSL_get_version(ssl);
    cipher_ = SSL_get_cipher_name(ssl);
    X509* cert = SSL_get0_peer_certificate(ssl);
    EVP_PKEY* key = cert != nullptr ? X509_get0_pubkey(cert) : nullptr;
    if (key != nullptr) {
      const char* type = EVP_PKEY_get0_type_name(key);
      peer_key_ = std::string(type != nullptr ? type : "unknown") + "-" +
                  std::to_string(EVP_PKEY_get_bits(key));
    }
    int group = static_cast<int>(SSL_get_negotiated_group(ssl));
    const char* group_name = group != 0 ? OBJ_nid2sn(group) : nullptr;
    group_ = group_name != nullptr ? group_name : "unknown";
  }

  void report(double elapsed) {
    Report r;
    r.add("workload", tls_ != nullptr ? "tls-handshake" : "connect");
    r.add("target", opt_.target.text);
    r.add("concurrency", static_cast<uint64_t>(slots_.size()));
    r.add("seconds", elapsed, 3);
    r.add("ops", completed_);
    r.add("ops_per_s", elapsed > 0 ? static_cast<double>(completed_) / elapsed : 0.0);
    r.add("p50_us", latencies_.quantile_us(0.50));
    r.add("p99_us", latencies_.quantile_us(0.99));
    if (tls_ != nullptr) {
      r.add("tls_version", session_.empty() ? "none" : session_);
      r.add("cipher", cipher_.empty() ? "none" : cipher_);
      r.add("group", group_.empty() ? "none" : group_);
      r.add("peer_key", peer_key_.empty() ? "none" : peer_key_);
    }
    cpu_.add_to(r, completed_);
    r.add_errors(errors_);
    r.print();
  }

  const Options& opt_;
  SSL_CTX* tls_;
  CpuWatch cpu_;
  Poller poller_;
  ErrorCounter errors_;
  LatencyRecorder latencies_;
  std::vector<Slot> slots_;
  uint64_t completed_ = 0;
  bool measuring_ = false;
  std::string session_, cipher_, group_, peer_key_;
};

}  // namespace

int run_connect(const Options& opt) {
  return Cycles(opt, nullptr).run();
}

int run_tls_handshake(const Options& opt) {
  CtxPtr ctx = make_client_context();
  if (!ctx) {
    Report r;
    r.add("workload", "tls-handshake");
    r.add("fatal", "SSL_CTX_new failed");
    r.print();
    return 1;
  }
  return Cycles(opt, ctx.get()).run();
}

}  // namespace ferry::bench
