// TLS listeners against real clients: `openssl s_client` and the project's
// own client context. Certificates generated in memory or given as files,
// SANs, reload on SIGHUP, clients that are not TLS or say nothing, and a
// PROXY header in front of TLS (WhatsApp's port 8443).
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <regex>

#include "harness/test_upstream.h"
#include "harness/tls_client.h"
#include "proxy_fixture.h"

namespace ferry::test {
namespace {

// One TLS listener on 127.0.0.1:port to the echo upstream; no health
// checks, so the upstream only sees relayed connections.
std::string tls_config(uint16_t port, uint16_t upstream_port, const std::string& top = "",
                       const std::string& listener = "") {
  return simple_config(port, upstream_port, top, "tls = true\n" + listener,
                       "health_check_interval = \"0s\"\n");
}

// WhatsApp's leaf: CN "<random alphanumerics>.net", signed by a CA with a
// random alphanumeric CN: issued by a CA, not self-signed.
void expect_whatsapp_shape(X509* cert) {
  ASSERT_NE(cert, nullptr);
  std::string cn = subject_cn(cert);
  EXPECT_TRUE(std::regex_match(cn, std::regex("[A-Za-z0-9]+\\.net"))) << "CN " << cn;
  std::string issuer = issuer_cn(cert);
  EXPECT_TRUE(std::regex_match(issuer, std::regex("[A-Za-z0-9]+"))) << "issuer CN " << issuer;
}

bool in_list(const std::string& item, const std::vector<std::string>& list) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

const std::vector<std::string> kTls13Suites = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                               "TLS_CHACHA20_POLY1305_SHA256"};

// s_client sends a line over TLS and must get it back through the relay.
void s_client_round_trip(const std::string& version_flag, const std::string& version_name,
                         const std::string& cipher_prefix) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(tls_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  SClient client("127.0.0.1", port, {version_flag, "-nocommands"});
  ASSERT_TRUE(client.send("hello through ferry\n"));
  ASSERT_TRUE(client.wait_for_output("hello through ferry", 10s)) << "stdout:\n"
                                                                  << client.out() << "\nstderr:\n"
                                                                  << client.err();
  std::string out = client.out();
  EXPECT_NE(out.find("New, " + version_name + ", Cipher is " + cipher_prefix), std::string::npos)
      << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("subject=CN = [A-Za-z0-9]+\\.net\n"))) << out;
  // Closing stdin makes s_client end the session; it exits cleanly.
  client.close_stdin();
  EXPECT_EQ(client.process().wait_exit(5s), 0) << client.err();
  EXPECT_TRUE(proxy.wait_metric("ferry_tls_handshakes_total", {}, 1));
  EXPECT_EQ(proxy.metric("ferry_tls_handshake_failures_total"), 0);
  ASSERT_EQ(up.first_bytes().size(), 1u);
  EXPECT_EQ(up.first_bytes()[0], "hello through ferry\n") << "the upstream must get plaintext";
}

TEST(Tls, OpensslSClientTls12RelaysWithTheGeneratedCertificate) {
  s_client_round_trip("-tls1_2", "TLSv1.2", "ECDHE-ECDSA-");
}

TEST(Tls, OpensslSClientTls13RelaysWithTheGeneratedCertificate) {
  s_client_round_trip("-tls1_3", "TLSv1.3", "TLS_");
}

TEST(Tls, OwnClientMovesMiBsEachWayByteExactOverTls13) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(tls_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  std::string error;
  auto client = TlsClient::connect("127.0.0.1", port, {}, error);
  ASSERT_TRUE(client) << error;
  EXPECT_EQ(client->version(), "TLSv1.3");
  EXPECT_TRUE(in_list(client->cipher(), kTls13Suites)) << client->cipher();
  auto cert = client->peer_certificate();
  expect_whatsapp_shape(cert.get());
  EXPECT_EQ(key_description(cert.get()), "EC prime256v1");
  EXPECT_TRUE(subject_alt_names(cert.get()).empty()) << "no SANs asked for: none, as WhatsApp's";

  const size_t kSize = 8 << 20;
  std::string data = random_bytes(kSize, 11);
  auto back = client->exchange(data, kSize, 60s);
  ASSERT_TRUE(back.has_value()) << "the echo did not come back whole";
  EXPECT_TRUE(*back == data) << "echo differs from what was sent";
  EXPECT_TRUE(proxy.wait_metric("ferry_bytes_total", {"client_to_upstream"}, kSize));
  EXPECT_EQ(proxy.metric("ferry_bytes_total", {"upstream_to_client"}), kSize);
}

TEST(Tls, OwnClientOverTls12) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(tls_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  std::string error;
  TlsClient::Options opts;
  opts.max_version = TLS1_2_VERSION;
  auto client = TlsClient::connect("127.0.0.1", port, opts, error);
  ASSERT_TRUE(client) << error;
  EXPECT_EQ(client->version(), "TLSv1.2");
  EXPECT_EQ(client->cipher().rfind("ECDHE-ECDSA-", 0), 0u) << client->cipher();
  std::string data = random_bytes(4 << 20, 12);
  auto back = client->exchange(data, data.size(), 60s);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(*back == data);
}

TEST(Tls, CloseNotifyIsPassedOnAsHalfClose) {
  // The upstream answers only at EOF: the answer arrives only if ferry
  // turned the client's close_notify into shutdown(SHUT_WR) upstream and
  // kept the way back open.
  TestUpstream up(TestUpstream::Mode::echo_at_eof);
  uint16_t port = free_port();
  RunningProxy proxy(tls_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  TlsClient::Options strict;
  strict.strict_eof = true;
  std::string error;
  auto client = TlsClient::connect("127.0.0.1", port, strict, error);
  ASSERT_TRUE(client) << error;
  ASSERT_TRUE(client->exchange("question", 0).has_value());
  // (Not stays_open() on the socket: TLS 1.3 session tickets arrive there.)
  ASSERT_FALSE(client->exchange("", 1, 200ms).has_value())
      << "answer before EOF: no half-close test";
  ASSERT_TRUE(client->close_write());
  EXPECT_EQ(client->exchange("", 8), "question");
  EXPECT_TRUE(client->wait_closed());
  // The upstream's FIN ends the relay here: it still becomes close_notify.
  EXPECT_TRUE(client->received_close_notify()) << "a bare FIN: the client sees a truncation";
  EXPECT_TRUE(wait_until([&] { return up.eofs() == 1; }, 3s));
}

TEST(Tls, AStalledUpstreamDoesNotMakeTheProxyBuffer) {
  // Decrypted bytes must wait in kernel buffers like plain ones do, not pile
  // up in the proxy (or in OpenSSL's buffers).
  TestUpstream up(TestUpstream::Mode::stall);
  uint16_t port = free_port();
  RunningProxy proxy(tls_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  auto client = TlsClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->exchange("x", 0).has_value());
  long rss_before = proxy.process().rss_kib();
  std::string chunk = random_bytes(1 << 20, 14);
  size_t sent = 0;
  // Push until a MiB does not go out within a second; at most 256 MiB.
  for (int i = 0; i < 256 && client->exchange(chunk, 0, 1s).has_value(); ++i) sent += chunk.size();
  long growth = proxy.process().rss_kib() - rss_before;
  EXPECT_LT(sent, 128u << 20) << "the proxy kept accepting: it is buffering";
  EXPECT_LT(growth, 8 * 1024) << "RSS grew by " << growth << " KiB";
}

TEST(Tls, Rsa2048KeyTypeGivesAnRsaCertificate) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(tls_config(port, up.port(), "[tls]\nkey_type = \"rsa-2048\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  std::string error;
  TlsClient::Options opts;
  opts.max_version = TLS1_2_VERSION;  // the cipher name then shows the key type too
  auto client = TlsClient::connect("127.0.0.1", port, opts, error);
  ASSERT_TRUE(client) << error;
  auto cert = client->peer_certificate();
  expect_whatsapp_shape(cert.get());
  EXPECT_EQ(key_description(cert.get()), "RSA 2048");
  EXPECT_EQ(client->cipher().rfind("ECDHE-RSA-", 0), 0u) << client->cipher();
  EXPECT_TRUE(client->echoes("rsa"));
}

TEST(Tls, SansFromTheConfig) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(tls_config(
      port, up.port(),
      "[tls]\nsan_dns = [\"proxy.example.org\"]\nsan_ip = [\"203.0.113.7\", \"2001:db8::7\"]\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  auto client = TlsClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  auto cert = client->peer_certificate();
  std::string cn = subject_cn(cert.get());
  // WhatsApp's order: the given names, the leaf's own CN, then the IPs.
  std::vector<std::string> want = {"DNS:proxy.example.org", "DNS:" + cn, "IP:203.0.113.7",
                                   "IP:2001:db8::7"};
  EXPECT_EQ(subject_alt_names(cert.get()), want);
}

TEST(Tls, SansFromTheEnvironmentAsWhatsAppsImage) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(tls_config(port, up.port()),
                     {{"SSL_DNS", "a.example,b.example"}, {"SSL_IP", "192.0.2.9,2001:db8::9"}});
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  auto client = TlsClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  auto cert = client->peer_certificate();
  std::string cn = subject_cn(cert.get());
  std::vector<std::string> want = {"DNS:a.example", "DNS:b.example", "DNS:" + cn, "IP:192.0.2.9",
                                   "IP:2001:db8::9"};
  EXPECT_EQ(subject_alt_names(cert.get()), want);
  EXPECT_TRUE(client->echoes("sans"));
}

TEST(Tls, ServesConfiguredCertificateFiles) {
  TempDir certs;
  std::string out;
  ASSERT_TRUE(make_certificate_files(certs.file("cert.pem"), certs.file("key.pem"),
                                     "configured.example", out))
      << out;
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(tls_config(port, up.port(),
                                "[tls]\ncert = \"" + certs.file("cert.pem") + "\"\nkey = \"" +
                                    certs.file("key.pem") + "\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  auto client = TlsClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  auto served = client->peer_certificate();
  auto on_disk = read_pem_certificate(certs.file("cert.pem"));
  EXPECT_TRUE(same_certificate(served.get(), on_disk.get()));
  EXPECT_EQ(subject_cn(served.get()), "configured.example");
  EXPECT_TRUE(client->echoes("configured"));
}

// A proxy whose [tls] names `cert` and `key` must refuse to start, promptly,
// saying `expected`, and never bind its listener.
void expect_start_refused(const std::string& cert, const std::string& key,
                          const std::string& expected) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(
      tls_config(port, up.port(), "[tls]\ncert = \"" + cert + "\"\nkey = \"" + key + "\"\n"));
  EXPECT_FALSE(proxy.started());
  auto status = proxy.process().wait_exit(5s);
  ASSERT_TRUE(status.has_value()) << "still running (or hung) with key " << key;
  EXPECT_NE(*status, 0);
  EXPECT_NE(proxy.process().err().find(expected), std::string::npos) << proxy.process().err();
  EXPECT_FALSE(connect_to("127.0.0.1", port, 500ms)) << "the listener came up anyway";
}

TEST(Tls, RefusesToStartWithAKeyFileOthersCanRead) {
  TempDir certs;
  std::string out;
  ASSERT_TRUE(make_certificate_files(certs.file("cert.pem"), certs.file("key.pem"),
                                     "configured.example", out))
      << out;
  ASSERT_EQ(::chmod(certs.file("key.pem").c_str(), 0644), 0);
  expect_start_refused(certs.file("cert.pem"), certs.file("key.pem"), certs.file("key.pem"));
}

TEST(Tls, RefusesToStartWithAKeyThatIsNotARegularFile) {
  // A FIFO would block the open until someone writes to it: start (or a
  // reload) would hang, with the signals that could stop it blocked.
  TempDir certs;
  std::string out;
  ASSERT_TRUE(make_certificate_files(certs.file("cert.pem"), certs.file("key.pem"),
                                     "configured.example", out))
      << out;
  ASSERT_EQ(::mkfifo(certs.file("fifo.pem").c_str(), 0600), 0);
  expect_start_refused(certs.file("cert.pem"), certs.file("fifo.pem"), "not a regular file");
}

TEST(Tls, SighupReloadsTheCertificateAndKeepsConnections) {
  TempDir certs;
  std::string out;
  std::string cert = certs.file("cert.pem"), key = certs.file("key.pem");
  ASSERT_TRUE(make_certificate_files(cert, key, "before.example", out)) << out;
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(
      tls_config(port, up.port(), "[tls]\ncert = \"" + cert + "\"\nkey = \"" + key + "\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  auto before = TlsClient::connect("127.0.0.1", port);
  ASSERT_TRUE(before);
  ASSERT_EQ(subject_cn(before->peer_certificate().get()), "before.example");
  ASSERT_TRUE(before->echoes("ping"));

  // Replace the files as an operator renewing a certificate would.
  ASSERT_TRUE(make_certificate_files(certs.file("new-cert.pem"), certs.file("new-key.pem"),
                                     "after.example", out))
      << out;
  ASSERT_EQ(std::rename(certs.file("new-key.pem").c_str(), key.c_str()), 0);
  ASSERT_EQ(std::rename(certs.file("new-cert.pem").c_str(), cert.c_str()), 0);
  proxy.process().signal(SIGHUP);
  ASSERT_TRUE(proxy.process().wait_for_log("event=reload_done", 5s)) << proxy.process().err();

  auto after = TlsClient::connect("127.0.0.1", port);
  ASSERT_TRUE(after);
  auto served = after->peer_certificate();
  EXPECT_EQ(subject_cn(served.get()), "after.example");
  EXPECT_TRUE(same_certificate(served.get(), read_pem_certificate(cert).get()));
  EXPECT_TRUE(after->echoes("new"));
  EXPECT_TRUE(before->echoes("still here")) << "the reload dropped an established connection";
}

TEST(Tls, AReloadWithAnUnusableKeyKeepsTheCurrentCertificate) {
  TempDir certs;
  std::string out;
  std::string cert = certs.file("cert.pem"), key = certs.file("key.pem");
  ASSERT_TRUE(make_certificate_files(cert, key, "kept.example", out)) << out;
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(
      tls_config(port, up.port(), "[tls]\ncert = \"" + cert + "\"\nkey = \"" + key + "\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  proxy.process().signal(SIGHUP);
  ASSERT_TRUE(proxy.process().wait_for_log("event=reload_failed", 5s)) << proxy.process().err();
  EXPECT_NE(proxy.process().err().find(key), std::string::npos) << proxy.process().err();
  auto client = TlsClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client) << "a failed reload took the listener down";
  EXPECT_EQ(subject_cn(client->peer_certificate().get()), "kept.example");
  EXPECT_TRUE(client->echoes("kept"));
}

TEST(Tls, AReloadKeepsTheGeneratedCertificate) {
  // Clients may have pinned it; nothing in [tls] changed, so it stays.
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(tls_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  auto before = TlsClient::connect("127.0.0.1", port);
  ASSERT_TRUE(before);
  proxy.process().signal(SIGHUP);
  ASSERT_TRUE(proxy.process().wait_for_log("event=reload_done", 5s)) << proxy.process().err();
  auto after = TlsClient::connect("127.0.0.1", port);
  ASSERT_TRUE(after);
  EXPECT_TRUE(same_certificate(before->peer_certificate().get(), after->peer_certificate().get()));
}

TEST(Tls, PlainTextAndGarbageAreHandshakeFailures) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(tls_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  net::Fd http = connect_to("127.0.0.1", port);
  ASSERT_TRUE(send_all(http.get(), "GET / HTTP/1.1\r\nHost: example\r\n\r\n"));
  EXPECT_TRUE(wait_closed(http.get(), 3s));
  EXPECT_TRUE(proxy.wait_metric("ferry_tls_handshake_failures_total", {}, 1)) << proxy.metrics();

  net::Fd junk = connect_to("127.0.0.1", port);
  ASSERT_TRUE(send_all(junk.get(), random_bytes(2048, 13)));
  EXPECT_TRUE(wait_closed(junk.get(), 3s));
  EXPECT_TRUE(proxy.wait_metric("ferry_tls_handshake_failures_total", {}, 2)) << proxy.metrics();
  EXPECT_TRUE(proxy.wait_metric("ferry_connections_closed_total", {"reason=\"tls_handshake\""}, 2));
  EXPECT_EQ(proxy.metric("ferry_tls_handshake_failures_total", {"reason=\"error\""}), 2);
  EXPECT_EQ(up.accepted(), 0u) << "a failed handshake must never reach the upstream";

  auto client = TlsClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client) << "the listener stopped serving";
  EXPECT_TRUE(client->echoes("still serving"));
}

// Regression: on TLS listeners without accept_proxy the handshake timer was
// once never armed (start_tls() tested the stage, which starts as
// proxy_header), so such clients were held forever. Fixed in 8f7ea96.
TEST(Tls, SilentAndStalledClientsAreClosedAtTheHandshakeTimeout) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(tls_config(port, up.port(), "[limits]\nhandshake_timeout = \"300ms\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  net::Fd silent = connect_to("127.0.0.1", port);
  ASSERT_TRUE(silent);
  net::Fd stalled = connect_to("127.0.0.1", port);  // stops in the middle of its ClientHello
  std::string hello = client_hello_bytes();
  ASSERT_GT(hello.size(), 20u);
  ASSERT_TRUE(send_all(stalled.get(), hello.substr(0, hello.size() / 2)));

  EXPECT_TRUE(wait_closed(silent.get(), 3s)) << "a client that says nothing is held";
  EXPECT_TRUE(wait_closed(stalled.get(), 3s)) << "a client stalled mid-handshake is held";
  EXPECT_TRUE(
      proxy.wait_metric("ferry_connections_closed_total", {"reason=\"handshake_timeout\""}, 2, 2s))
      << proxy.metrics();
  // Counted as TLS failures too, apart from handshakes that went wrong.
  EXPECT_EQ(proxy.metric("ferry_tls_handshake_failures_total", {"reason=\"timeout\""}), 2)
      << proxy.metrics();
  EXPECT_EQ(proxy.metric("ferry_tls_handshake_failures_total", {"reason=\"error\""}), 0);
  EXPECT_EQ(up.accepted(), 0u);
}

TEST(Tls, TheHandshakeTimeoutAlsoCoversTlsAfterAProxyHeader) {
  // With accept_proxy, one timer covers the header and the TLS handshake.
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "[limits]\nhandshake_timeout = \"300ms\"\n",
                                   "tls = true\naccept_proxy = true\n",
                                   "health_check_interval = \"0s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd fd = connect_to("127.0.0.1", port);
  ASSERT_TRUE(send_all(fd.get(), "PROXY TCP4 198.51.100.7 192.0.2.1 40000 8443\r\n"));
  EXPECT_TRUE(wait_closed(fd.get(), 3s));
  EXPECT_TRUE(
      proxy.wait_metric("ferry_connections_closed_total", {"reason=\"handshake_timeout\""}, 1))
      << proxy.metrics();
  EXPECT_EQ(proxy.metric("ferry_proxy_header_errors_total"), 0);
}

TEST(Tls, ProxyHeaderThenTlsOnOneListener) {
  // WhatsApp's port 8443: a load balancer's PROXY header, then the client's TLS.
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "", "tls = true\naccept_proxy = true\n",
                                   "send_proxy = \"v1\"\nhealth_check_interval = \"0s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  // Ferry passes the client named in it on, in the same v1 form.
  const std::string header = "PROXY TCP4 198.51.100.7 192.0.2.1 40000 8443\r\n";
  std::string error;
  TlsClient::Options opts;
  opts.preamble = header;
  auto client = TlsClient::connect("127.0.0.1", port, opts, error);
  ASSERT_TRUE(client) << error;
  // The echo upstream sends back ferry's v1 header too, inside the TLS stream.
  auto back = client->exchange("behind a balancer", header.size() + 17);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, header + "behind a balancer");
  ASSERT_EQ(up.first_bytes().size(), 1u);
  EXPECT_EQ(up.first_bytes()[0], header + "behind a balancer");

  // Without the header, the ClientHello is not a PROXY header: refused.
  std::string no_header_error;
  auto direct = TlsClient::connect("127.0.0.1", port, {}, no_header_error);
  EXPECT_FALSE(direct) << "TLS without the PROXY header was accepted";
  EXPECT_TRUE(proxy.wait_metric("ferry_proxy_header_errors_total", {"reason=\"invalid\""}, 1))
      << proxy.metrics();
}

}  // namespace
}  // namespace ferry::test
