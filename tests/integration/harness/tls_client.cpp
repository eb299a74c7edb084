#include "tls_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace ferry::test {
namespace {

// Which way a non-blocking SSL call wants the socket; 0 for a hard failure.
short wanted(SSL* ssl, int rc) {
  switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ:
      return POLLIN;
    case SSL_ERROR_WANT_WRITE:
      return POLLOUT;
    default:
      return 0;
  }
}

std::string name_cn(const X509_NAME* name) {
  if (name == nullptr) return "";
  int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (at < 0) return "";
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

// write(2) to a pipe whose reader may be gone: EPIPE instead of a SIGPIPE
// that would kill the whole test binary. The signal is blocked in this
// thread only and a pending one is consumed, so nothing else changes.
bool write_no_sigpipe(int fd, const std::string& text, Clock::time_point deadline) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  size_t done = 0;
  bool ok = true;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && poll_for(fd, POLLOUT, deadline)) continue;
    ok = false;
    break;
  }
  if (!ok && errno == EPIPE) {
    timespec zero{};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return ok;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

// ------------------------------------------------------------------ TlsClient

std::unique_ptr<TlsClient> TlsClient::connect(const std::string& host, uint16_t port,
                                              const Options& opts, std::string& error) {
  auto deadline = Clock::now() + opts.limit;
  std::unique_ptr<TlsClient> c(new TlsClient());
  c->fd_ = connect_to(host, port, opts.limit);
  if (!c->fd_) {
    error = "TCP connect failed";
    return nullptr;
  }
  if (!opts.preamble.empty() && !send_all(c->fd_.get(), opts.preamble, opts.limit)) {
    error = "sending the preamble failed";
    return nullptr;
  }
  c->ctx_ = net::tls::make_client_context();
  if (!c->ctx_) {
    error = "make_client_context: " + net::tls::last_error();
    return nullptr;
  }
  if (opts.min_version != 0) SSL_CTX_set_min_proto_version(c->ctx_.get(), opts.min_version);
  if (opts.max_version != 0) SSL_CTX_set_max_proto_version(c->ctx_.get(), opts.max_version);
  if (opts.strict_eof) SSL_CTX_clear_options(c->ctx_.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  c->ssl_ = SSL_new(c->ctx_.get());
  if (c->ssl_ == nullptr || SSL_set_fd(c->ssl_, c->fd_.get()) != 1) {
    error = "SSL_new: " + net::tls::last_error();
    return nullptr;
  }
  SSL_set_connect_state(c->ssl_);
  for (;;) {
    ERR_clear_error();
    int rc = SSL_do_handshake(c->ssl_);
    if (rc == 1) return c;
    short w = wanted(c->ssl_, rc);
    if (w == 0) {
      error = "handshake failed: " + net::tls::last_error();
      return nullptr;
    }
    if (!poll_for(c->fd_.get(), w, deadline)) {
      error = "handshake timed out";
      return nullptr;
    }
  }
}

TlsClient::~TlsClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

std::optional<std::string> TlsClient::exchange(const std::string& out, size_t in_len,
                                               Duration limit) {
  auto deadline = Clock::now() + limit;
  std::string in;
  in.reserve(in_len);
  size_t sent = 0;
  std::vector<char> buf(1 << 16);
  // After WANT_WRITE, OpenSSL wants the same SSL_write again: `sent` only
  // moves on success, so the retry has the same arguments.
  while (sent < out.size() || in.size() < in_len) {
    if (Clock::now() >= deadline) return std::nullopt;
    bool progress = false;
    short events = 0;
    if (sent < out.size()) {
      ERR_clear_error();
      int len = static_cast<int>(std::min<size_t>(out.size() - sent, 1 << 16));
      int n = SSL_write(ssl_, out.data() + sent, len);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        progress = true;
      } else if (short w = wanted(ssl_, n)) {
        events |= w;
      } else {
        return std::nullopt;
      }
    }
    if (in.size() < in_len) {
      ERR_clear_error();
      int len = static_cast<int>(std::min(buf.size(), in_len - in.size()));
      int n = SSL_read(ssl_, buf.data(), len);
      if (n > 0) {
        in.append(buf.data(), static_cast<size_t>(n));
        progress = true;
      } else if (short w = wanted(ssl_, n)) {
        events |= w;
      } else {
        return std::nullopt;  // EOF or error before everything arrived
      }
    }
    if (progress) continue;
    if (!poll_for(fd_.get(), events, deadline)) return std::nullopt;
  }
  return in;
}

bool TlsClient::echoes(const std::string& text, Duration limit) {
  return exchange(text, text.size(), limit) == text;
}

bool TlsClient::close_write() {
  ERR_clear_error();
  // 0: close_notify sent, the peer's not seen yet, which is what we want.
  return SSL_shutdown(ssl_) >= 0;
}

bool TlsClient::wait_closed(Duration limit) {
  auto deadline = Clock::now() + limit;
  char buf[4096];
  for (;;) {
    ERR_clear_error();
    int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) continue;  // discard what comes before the end
    short w = wanted(ssl_, n);
    if (w == 0) return true;  // close_notify, EOF or reset
    if (!poll_for(fd_.get(), w, deadline)) return false;
  }
}

std::string TlsClient::version() const {
  return SSL_get_version(ssl_);
}

std::string TlsClient::cipher() const {
  return SSL_get_cipher_name(ssl_);
}

net::tls::X509Ptr TlsClient::peer_certificate() const {
  return net::tls::X509Ptr(SSL_get1_peer_certificate(ssl_));
}

// -------------------------------------------------------------------- SClient

SClient::SClient(const std::string& host, uint16_t port, std::vector<std::string> extra_args) {
  fifo_ = dir_.file("stdin");
  ::mkfifo(fifo_.c_str(), 0600);
  std::string target = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::string cmd =
      "exec /usr/bin/openssl s_client -connect " + shell_quote(target + ":" + std::to_string(port));
  for (const auto& a : extra_args) cmd += " " + shell_quote(a);
  cmd += " < " + shell_quote(fifo_);
  proc_ = std::make_unique<Process>("/bin/sh", std::vector<std::string>{"-c", cmd}, dir_.path());
}

SClient::~SClient() {
  if (!writer_) return;  // the Process destructor kills s_client
  // Let s_client end its session on its own after stdin closed.
  writer_.reset();
  proc_->wait_exit(2s);
}

bool SClient::send(const std::string& text, Duration limit) {
  auto deadline = Clock::now() + limit;
  if (!writer_) {
    // Opening a FIFO's write end without blocking fails (ENXIO) until the
    // reader has it open: poll for that, bounded.
    wait_until(
        [&] {
          writer_.reset(::open(fifo_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
          return writer_.valid() || !proc_->running();
        },
        limit);
    if (!writer_) return false;
  }
  return write_no_sigpipe(writer_.get(), text, deadline);
}

void SClient::close_stdin() {
  if (!writer_) send("", 2s);  // make sure s_client got past its open
  writer_.reset();
}

// -------------------------------------------------------- certificate helpers

std::string subject_cn(X509* cert) {
  return name_cn(X509_get_subject_name(cert));
}

std::string issuer_cn(X509* cert) {
  return name_cn(X509_get_issuer_name(cert));
}

std::vector<std::string> subject_alt_names(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type == GEN_DNS) {
      const ASN1_IA5STRING* s = g->d.dNSName;
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<size_t>(ASN1_STRING_length(s))));
    } else if (g->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = g->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {};
      int len = ASN1_STRING_length(s);
      int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : -1;
      if (family < 0 || inet_ntop(family, ASN1_STRING_get0_data(s), text, sizeof text) == nullptr) {
        out.push_back("IP:?");
      } else {
        out.push_back(std::string("IP:") + text);
      }
    } else {
      out.push_back("OTHER");
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string key_description(X509* cert) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return "none";
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t len = 0;
      EVP_PKEY_get_group_name(key, group, sizeof group, &len);
      return std::string("EC ") + group;
    }
    case EVP_PKEY_RSA:
      return "RSA " + std::to_string(EVP_PKEY_get_bits(key));
    default:
      return std::string("other ") + EVP_PKEY_get0_type_name(key);
  }
}

net::tls::X509Ptr read_pem_certificate(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  net::tls::X509Ptr cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  return cert;
}

bool same_certificate(X509* a, X509* b) {
  return a != nullptr && b != nullptr && X509_cmp(a, b) == 0;
}

std::string client_hello_bytes() {
  net::tls::SslCtxPtr ctx = net::tls::make_client_context();
  if (!ctx) return "";
  SSL* ssl = SSL_new(ctx.get());
  if (ssl == nullptr) return "";
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rbio, wbio);  // ssl owns both now
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);  // writes the ClientHello, then wants to read
  char* data = nullptr;
  long len = BIO_get_mem_data(wbio, &data);
  std::string hello = len > 0 ? std::string(data, static_cast<size_t>(len)) : "";
  SSL_free(ssl);
  ERR_clear_error();
  return hello;
}

bool make_certificate_files(const std::string& cert_path, const std::string& key_path,
                            const std::string& cn, std::string& out) {
  int rc = run_command(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", key_path, "-out", cert_path, "-subj", "/CN=" + cn, "-days", "2"},
      out, 20s);
  ::chmod(key_path.c_str(), 0600);
  return rc == 0;
}

}  // namespace ferry::test
