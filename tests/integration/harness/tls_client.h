// TLS clients for integration tests: the project's own client context
// (net::tls::make_client_context) driven over a non-blocking socket with
// deadlines, `openssl s_client` as a child process fed through a FIFO, and
// helpers to look at the certificate a server sent.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/harness.h"
#include "net/fd.h"
#include "net/tls.h"

namespace ferry::test {

class TlsClient {
 public:
  struct Options {
    int min_version = 0;   // e.g. TLS1_2_VERSION; 0 = the context's default
    int max_version = 0;   // e.g. TLS1_2_VERSION to force TLS 1.2
    std::string preamble;  // sent in clear before the handshake (a PROXY header)
    Duration limit = 5s;   // for connect + handshake
    // A FIN without close_notify is an error, as for most TLS clients (the
    // project's context takes it as an orderly end).
    bool strict_eof = false;
  };

  // Connects to host:port and completes the handshake; nullptr (and `error`
  // set) when either fails within the limit.
  static std::unique_ptr<TlsClient> connect(const std::string& host, uint16_t port,
                                            const Options& opts, std::string& error);
  static std::unique_ptr<TlsClient> connect(const std::string& host, uint16_t port) {
    std::string error;
    return connect(host, port, Options{}, error);
  }
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // Sends `out` while receiving `in_len` bytes, in one thread (an SSL object
  // must not be shared between threads): full duplex without deadlock even
  // when both directions carry more than the socket buffers hold.
  std::optional<std::string> exchange(const std::string& out, size_t in_len, Duration limit = 30s);
  // Sends `text` and expects it back unchanged (through an echo upstream).
  bool echoes(const std::string& text, Duration limit = 5s);
  // Sends close_notify (TLS's half-close) and keeps reading.
  bool close_write();
  // True when the server ends the TLS stream or the TCP connection.
  bool wait_closed(Duration limit = 5s);
  // The server's close_notify came (with strict_eof: not merely a FIN,
  // which TLS clients treat as a possible truncation).
  bool received_close_notify() const {
    return (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0;
  }

  std::string version() const;  // "TLSv1.3"
  std::string cipher() const;   // "TLS_AES_256_GCM_SHA384"
  net::tls::X509Ptr peer_certificate() const;
  int fd() const { return fd_.get(); }

 private:
  TlsClient() = default;
  net::Fd fd_;
  net::tls::SslCtxPtr ctx_;
  SSL* ssl_ = nullptr;
};

// `openssl s_client` with its stdin on a FIFO the test writes to, so a line
// can be sent and stdin kept open until the answer came back (s_client quits
// at stdin EOF, possibly before the echo arrives).
class SClient {
 public:
  SClient(const std::string& host, uint16_t port, std::vector<std::string> extra_args);
  ~SClient();
  SClient(const SClient&) = delete;
  SClient& operator=(const SClient&) = delete;

  // Opens the FIFO (waits for s_client's shell to open its end) and writes.
  bool send(const std::string& text, Duration limit = 5s);
  // Closes stdin: s_client ends the session and exits.
  void close_stdin();
  bool wait_for_output(const std::string& text, Duration limit = 10s) {
    return proc_->wait_for_log(text, limit);
  }
  std::string out() const { return proc_->out(); }
  std::string err() const { return proc_->err(); }
  Process& process() { return *proc_; }

 private:
  TempDir dir_;
  std::string fifo_;
  net::Fd writer_;
  std::unique_ptr<Process> proc_;
};

// Certificate inspection.
std::string subject_cn(X509* cert);
std::string issuer_cn(X509* cert);
// "DNS:name" / "IP:addr" entries of the subjectAltName extension, in order;
// empty when there is none.
std::vector<std::string> subject_alt_names(X509* cert);
// "EC prime256v1", "RSA 2048", ...
std::string key_description(X509* cert);
// The first PEM certificate in a file; nullptr if none.
net::tls::X509Ptr read_pem_certificate(const std::string& path);
bool same_certificate(X509* a, X509* b);

// A real ClientHello as OpenSSL's client sends it (through memory BIOs, no
// socket): what a TLS client that does not know about PROXY headers sends.
std::string client_hello_bytes();

// Writes a self-signed ECDSA P-256 certificate and key (mode 0600) with
// `openssl req`, the way an operator would. False with `out` holding the
// tool's output on failure.
bool make_certificate_files(const std::string& cert_path, const std::string& key_path,
                            const std::string& cn, std::string& out);

}  // namespace ferry::test
