// The drop-in: `ferry-proxy` with no arguments binds exactly the ports of
// WhatsApp's proxy. Privileged ports need root and must not touch the host,
// so each test runs the proxy in a network namespace of its own. Having no
// route out, the namespace also proves the proxy reaches nothing outside: the
// upstream names cannot even resolve, which is the "all servers down" case.
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "harness/netns.h"
#include "proxy_fixture.h"

namespace ferry::test {
namespace {

// WhatsApp's listener ports (proxy_config.cfg), each on a dual-stack [::]
// socket, which ss prints as "*:PORT" ("[::]:PORT" would be IPv6 only).
const std::set<std::string> kWhatsAppSockets = {
    "*:80",           "*:8080", "*:443", "*:8443", "*:5222", "*:8222", "*:587", "*:7777",
    "127.0.0.1:8199",  // stats: loopback only unless asked for
};

class DefaultProfile : public testing::Test {
 protected:
  void SetUp() override {
    if (!ns_.ok()) GTEST_SKIP() << ns_.error();
  }

  // Starts ferry-proxy inside the namespace; true once it logged
  // event=started.
  bool start(std::vector<std::string> args = {}) {
    proxy_ = ns_.start(binary("ferry-proxy"), std::move(args), dir_.path());
    wait_until([&] { return !proxy_->running() || started(); }, 15s);
    return proxy_->running() && started();
  }
  bool started() const { return proxy_->err().find("event=started") != std::string::npos; }

  // Local addresses of the TCP sockets listening in the namespace.
  std::set<std::string> listening() const {
    std::string out;
    if (ns_.run({"ss", "-ltnH"}, out) != 0) return {};
    std::set<std::string> sockets;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string state, recv_q, send_q, local;
      if (fields >> state >> recv_q >> send_q >> local) sockets.insert(local);
    }
    return sockets;
  }

  // The namespace's listening sockets once they match `want` (bounded wait),
  // or what they were at the deadline.
  std::set<std::string> wait_listening(const std::set<std::string>& want) const {
    std::set<std::string> now;
    wait_until([&] { return (now = listening()) == want; }, 10s);
    return now;
  }

  // GET on the stats port inside the namespace.
  std::optional<std::string> stats(const std::string& path, int* status = nullptr) const {
    std::optional<std::string> body;
    ns_.inside([&] { body = http_get(8199, path, status); });
    return body;
  }

  NetNamespace ns_;  // declared first: removed after the proxy is killed
  TempDir dir_;
  std::unique_ptr<Process> proxy_;
};

TEST_F(DefaultProfile, BindsExactlyWhatsAppsPortsDualStackAndStatsOnLoopback) {
  ASSERT_TRUE(start()) << proxy_->err();
  // The pid is the proxy's own (ip netns exec did not stay in between), so
  // signals and /proc below are about the proxy.
  ASSERT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(proxy_->pid()) + "/exe"),
            std::filesystem::path(binary("ferry-proxy")));
  EXPECT_EQ(wait_listening(kWhatsAppSockets), kWhatsAppSockets);

  // Dual-stack: one plain and one TLS port take IPv4 and IPv6 clients.
  ASSERT_TRUE(ns_.inside([&] {
    for (uint16_t port : {uint16_t{5222}, uint16_t{443}}) {
      for (const char* host : {"127.0.0.1", "::1"}) {
        EXPECT_TRUE(connect_to(host, port, 2s)) << host << " port " << port;
      }
    }
  }));
  // The stats page answers on 127.0.0.1 only.
  int status = 0;
  EXPECT_TRUE(stats("/metrics", &status).has_value());
  EXPECT_EQ(status, 200);
  ns_.inside([&] { EXPECT_FALSE(connect_to("::1", 8199, 1s)) << "stats reachable over ::1"; });
}

TEST_F(DefaultProfile, WithNoWayOutEveryUpstreamIsDownAndClientsAreRefusedQuickly) {
  ASSERT_TRUE(start()) << proxy_->err();
  // No DNS and no route in the namespace: none of the names resolves.
  int status = 0;
  std::optional<std::string> body;
  EXPECT_TRUE(wait_until(
      [&] {
        body = stats("/healthz", &status);
        return status == 503;
      },
      5s))
      << status;
  ASSERT_TRUE(body.has_value());
  for (const char* up : {"chat", "web", "media"}) {
    EXPECT_NE(body->find("upstream " + std::string(up) + ": no server up"), std::string::npos)
        << *body;
  }

  // A client on 443 is closed at once: no waiting for connect timeouts
  // (5 s in this profile) on servers that cannot be reached.
  bool closed = false;
  ASSERT_TRUE(ns_.inside([&] {
    net::Fd fd = connect_to("127.0.0.1", 443, 2s);
    ASSERT_TRUE(fd);
    closed = wait_closed(fd.get(), 2s);
  }));
  EXPECT_TRUE(closed) << "a client of a down upstream was held open";
  std::string m;
  EXPECT_TRUE(wait_until(
      [&] {
        m = stats("/metrics").value_or("");
        return metric(m, "ferry_connections_refused_total",
                      {"listener=\"[::]:443\"", "reason=\"no_upstream\""}) == 1;
      },
      3s))
      << m;
  EXPECT_EQ(metric(m, "ferry_upstream_connects_total"), 0) << m;

  // SIGTERM with nothing to drain: exit 0 at once.
  proxy_->signal(SIGTERM);
  auto exit_status = proxy_->wait_exit(5s);
  ASSERT_TRUE(exit_status.has_value()) << "still running 5 s after SIGTERM";
  EXPECT_EQ(*exit_status, 0) << proxy_->err();
}

// Regression: /metrics once said ferry_upstream_server_up 1 for servers whose
// names never resolved, while /healthz said "no server up" and clients were
// refused, so the alert rule in docs/operations.md
// (max by (upstream) (ferry_upstream_server_up) == 0) never fired on DNS
// failure.
TEST_F(DefaultProfile, MetricsShowUnresolvedServersAsDown) {
  ASSERT_TRUE(start()) << proxy_->err();
  int status = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        stats("/healthz", &status);
        return status == 503;
      },
      5s));
  std::string m = stats("/metrics").value_or("");
  ASSERT_NE(m.find("ferry_upstream_server_up{"), std::string::npos) << m;
  for (const char* up : {"chat", "web", "media"}) {
    EXPECT_EQ(metric(m, "ferry_upstream_server_up", {"upstream=\"" + std::string(up) + "\""}), 0)
        << "upstream " << up << " never resolved, yet /metrics calls it up\n"
        << m;
  }
}

TEST_F(DefaultProfile, UserNobodyBindsThePrivilegedPortsThenRunsAsNobody) {
  passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user nobody";
  ASSERT_NE(nobody->pw_uid, 0u);
  ASSERT_TRUE(start({"--user", "nobody"})) << proxy_->err();
  EXPECT_NE(proxy_->err().find("event=privileges_dropped"), std::string::npos) << proxy_->err();

  std::string status = read_file("/proc/" + std::to_string(proxy_->pid()) + "/status");
  std::string uid = std::to_string(nobody->pw_uid), gid = std::to_string(nobody->pw_gid);
  EXPECT_NE(status.find("Uid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid + "\n"),
            std::string::npos)
      << status;
  EXPECT_NE(status.find("Gid:\t" + gid + "\t" + gid + "\t" + gid + "\t" + gid + "\n"),
            std::string::npos)
      << status;
  EXPECT_NE(status.find("CapEff:\t0000000000000000\n"), std::string::npos) << status;
  EXPECT_NE(status.find("NoNewPrivs:\t1\n"), std::string::npos) << status;

  // Still serving on the ports bound before the switch.
  EXPECT_EQ(wait_listening(kWhatsAppSockets), kWhatsAppSockets);
  int code = 0;
  EXPECT_TRUE(stats("/healthz", &code).has_value());
  EXPECT_TRUE(ns_.inside([&] { EXPECT_TRUE(connect_to("::1", 443, 2s)); }));
}

TEST_F(DefaultProfile, AReloadMovingAListenerToAnOverlappingAddressSaysItNeedsARestart) {
  // 127.0.0.1:P -> 0.0.0.0:P collides with the proxy's own old socket; a
  // wildcard address may only be bound inside the namespace.
  auto config = [&](const std::string& listen) {
    return dir_.write("moving.toml",
                      "workers = 1\n[[listener]]\nlisten = \"" + listen +
                          "\"\nupstream = \"echo\"\n[upstream.echo]\nservers = "
                          "[\"127.0.0.1:9\"]\nsend_proxy = \"none\"\nhealth_check_interval = "
                          "\"0s\"\n");
  };
  const std::string path = config("127.0.0.1:18001");
  ASSERT_TRUE(start({"--config", path})) << proxy_->err();
  const std::set<std::string> before = {"127.0.0.1:18001", "127.0.0.1:8199"};
  ASSERT_EQ(wait_listening(before), before);
  config("0.0.0.0:18001");
  proxy_->signal(SIGHUP);
  ASSERT_TRUE(proxy_->wait_for_log("event=reload_failed", 5s)) << proxy_->err();
  EXPECT_NE(proxy_->err().find("moving a listener to another address on the same port needs a "
                               "restart"),
            std::string::npos)
      << proxy_->err();
  // The running configuration goes on as it was.
  EXPECT_EQ(wait_listening(before), before);
  EXPECT_TRUE(proxy_->running());
}

}  // namespace
}  // namespace ferry::test
