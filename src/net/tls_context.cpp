// SSL_CTX set-up for listeners and for our own clients. Every choice here is
// about a relay holding tens of thousands of mostly idle connections.
#include <openssl/err.h>

#include "net/tls.h"

namespace ferry::net::tls {
namespace {

// TLS 1.2: forward-secret AEAD suites only (Mozilla's "intermediate" list
// without DHE, which costs CPU and nobody we serve needs).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
// X25519 first: fastest, and what phones offer first.
constexpr const char* kGroups = "X25519:P-256:P-384";

// Shared by both ends.
//  - RELEASE_BUFFERS: an idle connection gives back OpenSSL's ~16 KiB read
//    and write buffers instead of holding them for its whole life.
//  - ENABLE_PARTIAL_WRITE / ACCEPT_MOVING_WRITE_BUFFER: a relay writes what
//    the socket takes and retries from wherever its buffer then is.
bool common_setup(SSL_CTX* ctx) {
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // No compression (CRIME); no renegotiation (a peer could make us redo
  // handshakes at will). A peer closing TCP without close_notify is an
  // ordinary EOF for a relay: the protocols inside authenticate their own
  // ends, so truncation is theirs to notice, not ours to turn into an error.
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
         SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
         SSL_CTX_set1_groups_list(ctx, kGroups) == 1;
}

}  // namespace

SslCtxPtr make_server_context(const Identity& id, std::string& error) {
  error.clear();
  ERR_clear_error();
  if (!id.key || id.chain.empty()) {
    error = "TLS identity has no certificate or key";
    return nullptr;
  }
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx || !common_setup(ctx.get()) || SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx.get(), kTls13Suites) != 1) {
    error = "TLS server context: " + last_error();
    return nullptr;
  }
  // The client's cipher order wins (no SSL_OP_CIPHER_SERVER_PREFERENCE):
  // every suite above is strong, and a phone without AES instructions knows
  // that ChaCha20 is the cheap one for it.

  // No resumption: no session tickets and no session cache.
  // - Privacy: a ticket (TLS 1.2) or PSK identity (TLS 1.3) travels in the
  //   clear in the next ClientHello, so anyone watching the network could
  //   link a phone's reconnections across addresses. A circumvention proxy
  //   must not hand out such a tag.
  // - CPU: issuing one ticket cost ~90 us per handshake here (measured with
  //   bench/relay.sh's tls workload), about a tenth of the whole handshake,
  //   paid on every connection for a saving only on resumed ones.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  // Read what the socket has in one go instead of a header read and a body
  // read per record: a handshake took 13 read(2) calls without it.
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);

  if (SSL_CTX_use_certificate(ctx.get(), id.chain.front().get()) != 1) {
    error = "TLS certificate: " + last_error();
    return nullptr;
  }
  for (size_t i = 1; i < id.chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx.get(), id.chain[i].get()) != 1) {
      error = "TLS certificate chain: " + last_error();
      return nullptr;
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx.get(), id.key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    error = "TLS private key: " + last_error();
    return nullptr;
  }
  return ctx;
}

SslCtxPtr make_client_context(bool verify) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx || !common_setup(ctx.get())) return nullptr;
  if (verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) return nullptr;
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

}  // namespace ferry::net::tls
