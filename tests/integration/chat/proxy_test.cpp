// ferry through ferry-proxy on loopback: TLS and plain listeners, the share
// link the proxy prints, PROXY v2 to the server, the proxy's own metrics.
#include <unistd.h>

#include "chat_fixture.h"

namespace ferry::test::chat {
namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

class ProxyTest : public ChatTest {
 protected:
  void SetUp() override {
    ChatTest::SetUp();
    if (::access(binary("ferry-proxy").c_str(), X_OK) != 0) GTEST_SKIP() << "no ferry-proxy";
    tls_port_ = free_port();
    plain_port_ = free_port();
    stats_port_ = free_port();
    start_proxy();
  }
  void start_proxy() {
    std::string config =
        "share_link = \"ferry\"\n"
        "public_host = \"127.0.0.1\"\n"
        "[stats]\nlisten = \"127.0.0.1:" +
        std::to_string(stats_port_) +
        "\"\n"
        "[[listener]]\nlisten = \"127.0.0.1:" +
        std::to_string(tls_port_) +
        "\"\n"
        "tls = true\nupstream = \"ferry\"\n"
        "[[listener]]\nlisten = \"127.0.0.1:" +
        std::to_string(plain_port_) +
        "\"\n"
        "upstream = \"ferry\"\n"
        "[upstream.ferry]\nservers = [\"127.0.0.1:" +
        std::to_string(server_->proxy_port()) + "\"]\nsend_proxy = \"v2\"\n";
    std::string path = proxy_dir_.write("proxy.toml", config);
    proxy_ = std::make_unique<Process>(
        binary("ferry-proxy"), std::vector<std::string>{"--config", path}, proxy_dir_.path());
    ASSERT_TRUE(proxy_->wait_for_log("ferry://proxy?", 15s)) << proxy_->err();
    ASSERT_TRUE(proxy_->wait_for_log("event=started", 15s)) << proxy_->err();
    for (auto& l : lines(proxy_->out()))
      if (l.find("ferry://proxy?") != std::string::npos) link_ = l.substr(l.find("ferry://"));
  }
  double proxy_metric(const std::string& name, const std::vector<std::string>& match = {}) {
    return metric(http_get(stats_port_, "/metrics").value_or(""), name, match);
  }
  std::string plain() const { return "127.0.0.1:" + std::to_string(plain_port_); }

  TempDir proxy_dir_;
  std::unique_ptr<Process> proxy_;
  uint16_t tls_port_ = 0, plain_port_ = 0, stats_port_ = 0;
  std::string link_;
};

TEST_F(ProxyTest, TlsPlainAndTheShareLinkAllReachTheServer) {
  ASSERT_EQ(link_, "ferry://proxy?host=127.0.0.1&port=" + std::to_string(tls_port_) + "&tls=1");
  // alice: through TLS, with the link the proxy printed.
  auto a =
      ferry(home("alice"), {"register", "alice", "--server", server_->link(), "--proxy", link_});
  ASSERT_EQ(a.code, 0) << a.err;
  // bob: plain.
  auto b = ferry(home("bob"), {"register", "bob", "--server", server_->link(), "--proxy", plain()});
  ASSERT_EQ(b.code, 0) << b.err;
  // The proxy is remembered: no --proxy from here on.
  for (int i = 1; i <= 3; ++i)
    ASSERT_EQ(ferry(home("alice"), {"send", "bob", "via proxy " + std::to_string(i)}).code, 0);
  auto got = ferry(home("bob"), {"receive"});
  ASSERT_EQ(got.code, 0) << got.err;
  EXPECT_EQ(got.out, "alice: via proxy 1\nalice: via proxy 2\nalice: via proxy 3\n");

  auto stats = server_->stats();
  EXPECT_EQ(stats["accepted_direct"], 0);  // everyone came through the proxy
  EXPECT_GE(stats["accepted_via_proxy"], 6);
  EXPECT_GE(proxy_metric("ferry_connections_accepted_total"), 6);
}

TEST_F(ProxyTest, ProxyDownIsAClearErrorAndTheMessageWaits) {
  ASSERT_EQ(
      ferry(home("alice"), {"register", "alice", "--server", server_->link(), "--proxy", link_})
          .code,
      0);
  ASSERT_EQ(ferry(home("bob"), {"register", "bob", "--server", server_->link()}).code, 0);
  proxy_->signal(SIGKILL);
  proxy_->wait_exit(10s);
  auto r = ferry(home("alice"), {"send", "bob", "during the outage"});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("proxy unreachable"), std::string::npos) << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  start_proxy();
  ASSERT_EQ(ferry(home("alice"), {"send", "bob", "after"}).code, 0);
  auto got = ferry(home("bob"), {"receive"});
  EXPECT_EQ(got.out, "alice: during the outage\nalice: after\n");
  // Back to the direct route: 'none' forgets the proxy.
  proxy_->signal(SIGKILL);
  proxy_->wait_exit(10s);
  EXPECT_EQ(ferry(home("alice"), {"send", "bob", "direct", "--proxy", "none"}).code, 0);
}

TEST_F(ProxyTest, APinnedKeyStopsAServerSwappedInBehindTheProxy) {
  ASSERT_EQ(
      ferry(home("alice"), {"register", "alice", "--server", server_->link(), "--proxy", link_})
          .code,
      0);
  // Another server (another key) takes over the upstream's address.
  uint16_t upstream = server_->proxy_port();
  server_->kill9();
  RunningServer impostor;
  ASSERT_TRUE(impostor.ready());
  // Point the proxy at the impostor by restarting it with the impostor's port.
  proxy_->signal(SIGKILL);
  proxy_->wait_exit(10s);
  std::string config = read_file(proxy_dir_.file("proxy.toml"));
  replace_all(config, std::to_string(upstream), std::to_string(impostor.proxy_port()));
  std::string path = proxy_dir_.write("proxy.toml", config);
  proxy_ = std::make_unique<Process>(binary("ferry-proxy"),
                                     std::vector<std::string>{"--config", path}, proxy_dir_.path());
  ASSERT_TRUE(proxy_->wait_for_log("event=started", 15s));
  auto r = ferry(home("alice"), {"send", "bob", "secret"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("not the one in the server link"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ferry::test::chat
