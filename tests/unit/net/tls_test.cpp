#include "net/tls.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

namespace ferry::net::tls {
namespace {

struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

std::string common_name(const X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

bool all_alnum(const std::string& s) {
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

// The names in the leaf's subjectAltName, as "DNS:x" / "IP:y", in order.
std::vector<std::string> sans(const X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type == GEN_DNS) {
      const ASN1_STRING* s = g->d.dNSName;
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<size_t>(ASN1_STRING_length(s))));
    } else if (g->type == GEN_IPADD) {
      char* text = i2s_ASN1_OCTET_STRING(nullptr, g->d.iPAddress);  // hex bytes
      out.push_back(std::string("IP:") + (text ? text : "?"));
      OPENSSL_free(text);
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

SelfSignedOptions options(KeyAlgorithm a) {
  SelfSignedOptions o;
  o.algorithm = a;
  o.san_dns = {"proxy.example.org", "*.example.net"};
  o.san_ip = {"203.0.113.7", "2001:db8::1"};
  return o;
}

Identity generate(const SelfSignedOptions& o) {
  std::string error;
  auto id = generate_self_signed(o, error);
  EXPECT_TRUE(id) << error;
  return id ? std::move(*id) : Identity{};
}

class SelfSigned : public ::testing::TestWithParam<KeyAlgorithm> {};

TEST_P(SelfSigned, IsALeafWithRandomNamesSansAndTheKeyAskedFor) {
  const Identity id = generate(options(GetParam()));
  ASSERT_TRUE(id.key && id.ca);
  ASSERT_EQ(id.chain.size(), 1u);  // the leaf alone is served, as by WhatsApp's proxy
  X509* leaf = id.chain[0].get();

  switch (GetParam()) {
    case KeyAlgorithm::ecdsa_p256:
      EXPECT_TRUE(EVP_PKEY_is_a(id.key.get(), "EC"));
      EXPECT_EQ(EVP_PKEY_get_bits(id.key.get()), 256);
      break;
    case KeyAlgorithm::rsa_2048:
      EXPECT_TRUE(EVP_PKEY_is_a(id.key.get(), "RSA"));
      EXPECT_EQ(EVP_PKEY_get_bits(id.key.get()), 2048);
      break;
    case KeyAlgorithm::rsa_4096:
      EXPECT_TRUE(EVP_PKEY_is_a(id.key.get(), "RSA"));
      EXPECT_EQ(EVP_PKEY_get_bits(id.key.get()), 4096);
      break;
  }
  EXPECT_EQ(X509_check_private_key(leaf, id.key.get()), 1);
  // The CA: same family, RSA-2048 for RSA leaves (like WhatsApp's CA).
  EVP_PKEY* ca_key = X509_get0_pubkey(id.ca.get());
  EXPECT_EQ(EVP_PKEY_get_bits(ca_key), GetParam() == KeyAlgorithm::ecdsa_p256 ? 256 : 2048);
  EXPECT_EQ(EVP_PKEY_get_base_id(ca_key), EVP_PKEY_get_base_id(id.key.get()));

  // Subjects shaped like WhatsApp's: CA "<alnum>", leaf "<alnum>.net".
  const std::string cn = common_name(leaf), ca_cn = common_name(id.ca.get());
  ASSERT_TRUE(cn.ends_with(".net")) << cn;
  EXPECT_TRUE(all_alnum(cn.substr(0, cn.size() - 4))) << cn;
  EXPECT_TRUE(all_alnum(ca_cn)) << ca_cn;
  EXPECT_NE(cn.substr(0, cn.size() - 4), ca_cn);

  // Signed by the CA, which is a CA; the leaf is not.
  EXPECT_EQ(X509_check_issued(id.ca.get(), leaf), X509_V_OK);
  EXPECT_EQ(X509_verify(leaf, X509_get0_pubkey(id.ca.get())), 1);
  EXPECT_EQ(X509_check_ca(id.ca.get()), 1);
  EXPECT_EQ(X509_check_ca(leaf), 0);
  EXPECT_EQ(X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0), 1);

  // SANs in WhatsApp's order: given names, the CN, then IPs.
  EXPECT_EQ(sans(leaf),
            (std::vector<std::string>{"DNS:proxy.example.org", "DNS:*.example.net", "DNS:" + cn,
                                      "IP:CB:00:71:07",
                                      "IP:20:01:0D:B8:00:00:00:00:00:00:00:00:00:00:00:01"}));
  EXPECT_EQ(X509_check_host(leaf, "proxy.example.org", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "2001:db8::1", 0), 1);

  int days = -1, seconds = -1;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(leaf), X509_get0_notAfter(leaf)),
            1);
  EXPECT_EQ(days, 365);
  EXPECT_EQ(seconds, 0);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SelfSigned,
                         ::testing::Values(KeyAlgorithm::ecdsa_p256, KeyAlgorithm::rsa_2048,
                                           KeyAlgorithm::rsa_4096));

TEST(SelfSignedNames, DifferEveryTimeAndHaveNoSansUnlessAsked) {
  std::set<std::string> names, serials;
  for (int i = 0; i < 4; ++i) {
    const Identity id = generate(SelfSignedOptions{});
    names.insert(common_name(id.chain[0].get()));
    names.insert(common_name(id.ca.get()));
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(id.chain[0].get()), nullptr);
    char* hex = BN_bn2hex(bn);
    serials.insert(hex);
    EXPECT_GE(BN_num_bits(bn), 150);
    OPENSSL_free(hex);
    BN_free(bn);
    EXPECT_TRUE(sans(id.chain[0].get()).empty());
  }
  EXPECT_EQ(names.size(), 8u);
  EXPECT_EQ(serials.size(), 4u);
}

TEST(SelfSignedNames, RefusesBadSans) {
  std::string error;
  SelfSignedOptions o;
  o.san_ip = {"203.0.113.300"};
  EXPECT_FALSE(generate_self_signed(o, error));
  EXPECT_NE(error.find("203.0.113.300"), std::string::npos) << error;
  o.san_ip.clear();
  o.san_dns = {"bad name,DNS:evil.example"};
  EXPECT_FALSE(generate_self_signed(o, error));
  EXPECT_NE(error.find("bad name"), std::string::npos) << error;
}

// ------------------------------------------------------------ handshakes

// A client and a server SSL joined by an in-memory BIO pair.
struct Link {
  SslPtr client, server;
  Link(SSL_CTX* client_ctx, SSL_CTX* server_ctx)
      : client(SSL_new(client_ctx)), server(SSL_new(server_ctx)) {
    BIO *c = nullptr, *s = nullptr;
    EXPECT_EQ(BIO_new_bio_pair(&c, 0, &s, 0), 1);
    SSL_set_bio(client.get(), c, c);
    SSL_set_bio(server.get(), s, s);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
  }

  static bool retry(SSL* ssl, int rc) {
    const int e = SSL_get_error(ssl, rc);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
  }

  // Bounded: a TLS handshake takes a handful of flights.
  bool handshake() {
    for (int i = 0; i < 32; ++i) {
      const int c = SSL_do_handshake(client.get());
      const int s = SSL_do_handshake(server.get());
      if (c == 1 && s == 1) return true;
      if ((c != 1 && !retry(client.get(), c)) || (s != 1 && !retry(server.get(), s))) {
        return false;
      }
    }
    return false;
  }

  // Sends `text` from `from` and reads it at `to` (also processing whatever
  // else arrives, such as TLS 1.3 session tickets).
  static std::string pass(SSL* from, SSL* to, const std::string& text) {
    if (SSL_write(from, text.data(), static_cast<int>(text.size())) !=
        static_cast<int>(text.size()))
      return "<write failed>";
    std::string got;
    char buf[256];
    for (int i = 0; i < 8 && got.size() < text.size(); ++i) {
      const int n = SSL_read(to, buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
};

SslCtxPtr server_ctx(const Identity& id) {
  std::string error;
  SslCtxPtr ctx = make_server_context(id, error);
  EXPECT_TRUE(ctx) << error;
  return ctx;
}

int g_tickets = 0;
int count_ticket(SSL*, SSL_SESSION*) {
  ++g_tickets;
  return 0;  // not kept
}

class Handshake : public ::testing::TestWithParam<int> {};

TEST_P(Handshake, ClientAndServerContextsAgreeOnTheVersionAsked) {
  const int version = GetParam();
  const Identity id = generate(options(KeyAlgorithm::ecdsa_p256));
  SslCtxPtr server = server_ctx(id);
  SslCtxPtr client = make_client_context();
  ASSERT_TRUE(server && client);
  ASSERT_EQ(SSL_CTX_set_max_proto_version(client.get(), version), 1);
  SSL_CTX_set_session_cache_mode(client.get(), SSL_SESS_CACHE_CLIENT);
  SSL_CTX_sess_set_new_cb(client.get(), count_ticket);
  g_tickets = 0;

  Link link(client.get(), server.get());
  ASSERT_TRUE(link.handshake()) << last_error();
  EXPECT_EQ(SSL_version(link.client.get()), version);
  EXPECT_EQ(SSL_version(link.server.get()), version);
  EXPECT_EQ(Link::pass(link.server.get(), link.client.get(), "hello client"), "hello client");
  EXPECT_EQ(Link::pass(link.client.get(), link.server.get(), "hello server"), "hello server");
  // No resumption tickets: they would let an observer link reconnections
  // (see make_server_context).
  EXPECT_EQ(g_tickets, 0);
}

INSTANTIATE_TEST_SUITE_P(Versions, Handshake, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return p.param == TLS1_2_VERSION ? std::string("Tls12")
                                                            : std::string("Tls13");
                         });

TEST(ServerContext, HasTheSettingsARelayNeeds) {
  const Identity id = generate(SelfSignedOptions{});
  SslCtxPtr ctx = server_ctx(id);
  ASSERT_TRUE(ctx);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx.get()), TLS1_3_VERSION);
  EXPECT_TRUE(SSL_CTX_get_mode(ctx.get()) & SSL_MODE_RELEASE_BUFFERS);
  const uint64_t opts = SSL_CTX_get_options(ctx.get());
  EXPECT_TRUE(opts & SSL_OP_NO_RENEGOTIATION);
  EXPECT_TRUE(opts & SSL_OP_NO_COMPRESSION);
  EXPECT_TRUE(opts & SSL_OP_NO_TICKET);
  EXPECT_EQ(SSL_CTX_get_num_tickets(ctx.get()), 0u);
  EXPECT_EQ(SSL_CTX_get_session_cache_mode(ctx.get()), SSL_SESS_CACHE_OFF);
}

TEST(ServerContext, PrefersX25519AndRefusesTls11) {
  const Identity id = generate(SelfSignedOptions{});
  SslCtxPtr server = server_ctx(id);
  {
    SslCtxPtr client = make_client_context();
    Link link(client.get(), server.get());
    ASSERT_TRUE(link.handshake());
    EXPECT_EQ(SSL_get_negotiated_group(link.server.get()), NID_X25519);
  }
  {
    SslCtxPtr old = make_client_context();
    SSL_CTX_set_security_level(old.get(), 0);  // let the client try TLS 1.1 at all
    SSL_CTX_set_min_proto_version(old.get(), TLS1_1_VERSION);
    SSL_CTX_set_max_proto_version(old.get(), TLS1_1_VERSION);
    SSL_CTX_set_cipher_list(old.get(), "ALL:@SECLEVEL=0");
    Link link(old.get(), server.get());
    EXPECT_FALSE(link.handshake());
    ERR_clear_error();
  }
}

TEST(ClientContext, VerifiesAgainstThePinnedCaAndTheName) {
  const Identity id = generate(options(KeyAlgorithm::ecdsa_p256));
  SslCtxPtr server = server_ctx(id);
  for (const char* host : {"proxy.example.org", "wrong.example.org"}) {
    SslCtxPtr client = make_client_context(true);
    ASSERT_TRUE(client);
    ASSERT_EQ(X509_STORE_add_cert(SSL_CTX_get_cert_store(client.get()), id.ca.get()), 1);
    Link link(client.get(), server.get());
    SSL_set1_host(link.client.get(), host);
    const bool ok = link.handshake();
    EXPECT_EQ(ok, std::string(host) == "proxy.example.org") << host;
    ERR_clear_error();
  }
  // Without the CA, a verifying client refuses the self-signed chain.
  SslCtxPtr client = make_client_context(true);
  Link link(client.get(), server.get());
  EXPECT_FALSE(link.handshake());
  EXPECT_NE(SSL_get_verify_result(link.client.get()), X509_V_OK);
  ERR_clear_error();
}

// ------------------------------------------------------------ PEM files

class PemFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "ferry_tls_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    EXPECT_EQ(::fchmod(fd, mode), 0);  // exact bits, whatever the umask
    ::close(fd);
    return path;
  }

  static std::string pem_key(EVP_PKEY* key, const EVP_CIPHER* cipher = nullptr) {
    BIO* b = BIO_new(BIO_s_mem());
    static const char kPass[] = "secret";
    PEM_write_bio_PrivateKey(b, key, cipher, nullptr, 0, nullptr,
                             const_cast<char*>(cipher ? kPass : nullptr));
    return drain(b);
  }
  static std::string pem_cert(X509* cert) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, cert);
    return drain(b);
  }
  static std::string drain(BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string s(data, static_cast<size_t>(n));
    BIO_free(b);
    return s;
  }

  std::string dir_;
};

TEST_F(PemFiles, LoadsAChainAndItsKeyAndServesWithThem) {
  const Identity gen = generate(options(KeyAlgorithm::ecdsa_p256));
  const std::string cert =
      write("cert.pem", pem_cert(gen.chain[0].get()) + pem_cert(gen.ca.get()), 0644);
  const std::string key = write("key.pem", pem_key(gen.key.get()), 0600);
  std::string error;
  auto id = load_identity(cert, key, error);
  ASSERT_TRUE(id) << error;
  ASSERT_EQ(id->chain.size(), 2u);
  EXPECT_EQ(X509_cmp(id->chain[0].get(), gen.chain[0].get()), 0);
  EXPECT_EQ(X509_cmp(id->chain[1].get(), gen.ca.get()), 0);

  SslCtxPtr server = server_ctx(*id);
  SslCtxPtr client = make_client_context();
  Link link(client.get(), server.get());
  ASSERT_TRUE(link.handshake());
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(link.client.get());
  EXPECT_EQ(sk_X509_num(sent), 2);

  // WhatsApp's combined file (key then certificate) works as the cert file.
  const std::string combined =
      write("combined.pem", pem_key(gen.key.get()) + pem_cert(gen.chain[0].get()), 0600);
  EXPECT_TRUE(load_identity(combined, combined, error)) << error;
}

TEST_F(PemFiles, RefusesAKeyFileOthersCanRead) {
  const Identity gen = generate(SelfSignedOptions{});
  const std::string cert = write("cert.pem", pem_cert(gen.chain[0].get()), 0644);
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0610}) {
    const std::string key = write("key.pem", pem_key(gen.key.get()), mode);
    std::string error;
    EXPECT_FALSE(load_identity(cert, key, error)) << std::oct << mode;
    EXPECT_NE(error.find(key), std::string::npos) << error;
    EXPECT_NE(error.find("chmod 600"), std::string::npos) << error;
  }
  const std::string key = write("key.pem", pem_key(gen.key.get()), 0400);
  std::string error;
  EXPECT_TRUE(load_identity(cert, key, error)) << error;
}

// A key inside the certificate file is as secret as the key file, even
// when the configuration names a separate one.
TEST_F(PemFiles, RefusesACertificateFileOthersCanReadThatHoldsAKey) {
  const Identity gen = generate(SelfSignedOptions{});
  const std::string key = write("key.pem", pem_key(gen.key.get()), 0600);
  const std::string combined =
      write("combined.pem", pem_key(gen.key.get()) + pem_cert(gen.chain[0].get()), 0644);
  std::string error;
  EXPECT_FALSE(load_identity(combined, key, error));
  EXPECT_NE(error.find(combined), std::string::npos) << error;
  EXPECT_NE(error.find("chmod 600"), std::string::npos) << error;
  const std::string plain = write("cert.pem", pem_cert(gen.chain[0].get()), 0644);
  EXPECT_TRUE(load_identity(plain, key, error)) << "a certificate alone may be public: " << error;
}

TEST_F(PemFiles, RefusesAKeyThatIsNotTheCertificates) {
  const Identity a = generate(SelfSignedOptions{});
  const Identity b = generate(SelfSignedOptions{});
  const std::string cert = write("cert.pem", pem_cert(a.chain[0].get()), 0644);
  const std::string key = write("key.pem", pem_key(b.key.get()), 0600);
  std::string error;
  EXPECT_FALSE(load_identity(cert, key, error));
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(PemFiles, RefusesMissingEmptyAndEncryptedFilesWithTheirNames) {
  const Identity gen = generate(SelfSignedOptions{});
  const std::string cert = write("cert.pem", pem_cert(gen.chain[0].get()), 0644);
  const std::string key = write("key.pem", pem_key(gen.key.get()), 0600);
  std::string error;

  EXPECT_FALSE(load_identity(dir_ + "/none.pem", key, error));
  EXPECT_NE(error.find("none.pem"), std::string::npos) << error;
  EXPECT_FALSE(load_identity(cert, dir_ + "/nokey.pem", error));
  EXPECT_NE(error.find("nokey.pem"), std::string::npos) << error;

  const std::string empty = write("empty.pem", "", 0644);
  EXPECT_FALSE(load_identity(empty, key, error));
  EXPECT_NE(error.find("empty.pem"), std::string::npos) << error;

  // Would prompt for a passphrase on a terminal: refused instead.
  const std::string locked = write("locked.pem", pem_key(gen.key.get(), EVP_aes_256_cbc()), 0600);
  EXPECT_FALSE(load_identity(cert, locked, error));
  EXPECT_NE(error.find("locked.pem"), std::string::npos) << error;

  EXPECT_FALSE(load_identity(cert, dir_, error));  // a directory
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
}

// ------------------------------------------------------------ helpers

TEST(SplitList, TrimsAndDropsEmptyItems) {
  EXPECT_EQ(split_list(nullptr), std::vector<std::string>{});
  EXPECT_EQ(split_list(""), std::vector<std::string>{});
  EXPECT_EQ(split_list("a.example"), std::vector<std::string>{"a.example"});
  EXPECT_EQ(split_list(" a.example , b.example,,\tc ,"),
            (std::vector<std::string>{"a.example", "b.example", "c"}));
  EXPECT_EQ(split_list(" , "), std::vector<std::string>{});
}

TEST(LastError, DescribesAndClearsTheQueue) {
  BIO* b = BIO_new_mem_buf("not pem", -1);
  EXPECT_EQ(PEM_read_bio_X509(b, nullptr, nullptr, nullptr), nullptr);
  BIO_free(b);
  const std::string e = last_error();
  EXPECT_NE(e.find("error:"), std::string::npos) << e;
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_EQ(last_error(), "unknown OpenSSL error");
}

}  // namespace
}  // namespace ferry::net::tls
