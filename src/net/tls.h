// TLS for listeners (OpenSSL 3): server identities, contexts, and a small
// client context for our own tools and tests.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::net::tls {

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

enum class KeyAlgorithm { ecdsa_p256, rsa_2048, rsa_4096 };

// A certificate chain (leaf first) and its private key.
struct Identity {
  PkeyPtr key;
  std::vector<X509Ptr> chain;  // what the server sends
  // generate_self_signed only: the CA that signed the leaf. Not sent (like
  // WhatsApp's proxy, which serves the leaf alone); its key is discarded at
  // once, so nothing else can ever be signed with it. Lets a client pin it.
  X509Ptr ca;
};

struct SelfSignedOptions {
  KeyAlgorithm algorithm = KeyAlgorithm::ecdsa_p256;
  std::vector<std::string> san_dns;
  std::vector<std::string> san_ip;
  int validity_days = 365;  // the leaf's; the CA's is ten times longer
};

// Like WhatsApp's proxy (proxy/src/generate-certs.sh): a CA with a random
// alphanumeric CN signs a leaf with CN "<random>.net". When any SAN is given,
// the SANs are the given DNS names, then the leaf CN, then the IPs; with none,
// no SAN extension, as there. Kept in memory only: the key never touches disk.
std::optional<Identity> generate_self_signed(const SelfSignedOptions& opts, std::string& error);

// PEM files. Refuses a key file that group or others can read, as ssh does.
std::optional<Identity> load_identity(const std::string& cert_path, const std::string& key_path,
                                      std::string& error);

// Server context: TLS 1.2 and 1.3, modern ciphers, buffers released while idle.
SslCtxPtr make_server_context(const Identity& id, std::string& error);

// Client context for tools and tests: TLS 1.2+, no certificate verification
// unless `verify` (the outer TLS hides traffic; the inner Noise authenticates).
// With `verify`, the system trust store is loaded; the caller names the host
// per connection (SSL_set1_host). nullptr if OpenSSL fails.
SslCtxPtr make_client_context(bool verify = false);

// "a.example,b.example" -> {"a.example", "b.example"}; empty items dropped.
std::vector<std::string> split_list(const char* text);

// The last OpenSSL error as text (and clears the queue).
std::string last_error();

}  // namespace ferry::net::tls
