// Signals: SIGHUP reloads without dropping connections, SIGTERM drains.
#include <signal.h>
#include <unistd.h>

#include "harness/test_upstream.h"
#include "net/socket.h"
#include "proxy_fixture.h"

namespace ferry::test {
namespace {

bool echoes(int fd, const std::string& text = "ping") {
  return send_all(fd, text) && recv_exact(fd, text.size()) == text;
}

std::string two_listeners(uint16_t a, uint16_t b, uint16_t up) {
  return simple_config(a, up) + "[[listener]]\nlisten = \"127.0.0.1:" + std::to_string(b) +
         "\"\nupstream = \"up\"\n";
}

TEST(Lifecycle, SighupReloadsAndKeepsEstablishedConnections) {
  TestUpstream up;
  uint16_t a = free_port(), b = free_port();
  RunningProxy proxy(simple_config(a, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd held = connect_to("127.0.0.1", a);
  ASSERT_TRUE(echoes(held.get()));

  proxy.rewrite(two_listeners(a, b, up.port()));  // adds a listener
  proxy.process().signal(SIGHUP);
  ASSERT_TRUE(proxy.process().wait_for_log("event=reload_done", 5s)) << proxy.process().err();
  EXPECT_TRUE(echoes(held.get(), "still here")) << "reload dropped an established connection";
  net::Fd on_new = connect_to("127.0.0.1", b);
  EXPECT_TRUE(on_new && echoes(on_new.get())) << "the added listener does not relay";
  net::Fd on_old = connect_to("127.0.0.1", a);
  EXPECT_TRUE(on_old && echoes(on_old.get()));

  proxy.rewrite(simple_config(a, up.port()));  // removes it again
  proxy.process().signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] {
        return proxy.process().err().find("event=reload_done") !=
               proxy.process().err().rfind("event=reload_done");
      },
      5s));
  EXPECT_FALSE(connect_to("127.0.0.1", b, 1s)) << "a removed listener still accepts";
  EXPECT_TRUE(echoes(on_new.get(), "kept")) << "a connection of a removed listener was dropped";
}

TEST(Lifecycle, EveryReloadThatChangesAStartOnlyKeySaysSo) {
  TestUpstream up;
  uint16_t a = free_port();
  RunningProxy proxy(simple_config(a, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  std::string changed = simple_config(a, up.port(), "[stats]\nenabled = false\n");
  changed.replace(changed.find("workers = 2"), 11, "workers = 1");
  // (A second [stats] table would be a TOML error: drop the fixture's.)
  changed.erase(changed.find("[stats]\nlisten"),
                changed.find("[[listener]]") - changed.find("[stats]\nlisten"));
  proxy.rewrite(changed);
  for (int i = 1; i <= 2; ++i) {
    proxy.process().signal(SIGHUP);
    ASSERT_TRUE(wait_until(
        [&] {
          const std::string err = proxy.process().err();
          size_t n = 0;
          for (size_t at = err.find("event=reload_done"); at != std::string::npos;
               at = err.find("event=reload_done", at + 1))
            ++n;
          return n == static_cast<size_t>(i);
        },
        5s))
        << proxy.process().err();
  }
  const std::string err = proxy.process().err();
  size_t warned = 0;
  for (size_t at = err.find("event=reload_needs_restart"); at != std::string::npos;
       at = err.find("event=reload_needs_restart", at + 1))
    ++warned;
  EXPECT_EQ(warned, 2u) << err;
  EXPECT_NE(err.find("keys=\"workers, stats.enabled"), std::string::npos) << err;
}

TEST(Lifecycle, ABadConfigOnReloadKeepsThePreviousOne) {
  TestUpstream up;
  uint16_t a = free_port();
  RunningProxy proxy(simple_config(a, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  proxy.rewrite("max_connections = \"many\"\n");
  proxy.process().signal(SIGHUP);
  ASSERT_TRUE(proxy.process().wait_for_log("event=reload_failed", 5s));
  EXPECT_NE(proxy.process().err().find("max_connections"), std::string::npos);
  EXPECT_TRUE(proxy.process().running());
  net::Fd fd = connect_to("127.0.0.1", a);
  EXPECT_TRUE(fd && echoes(fd.get()));
}

// A reload that fails to bind leaves nothing of itself behind: no listener
// in the metrics that never ran.
TEST(Lifecycle, AReloadThatCannotBindLeavesNoTrace) {
  TestUpstream up;
  uint16_t a = free_port();
  RunningProxy proxy(simple_config(a, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  // Another program holds the port the new listener wants.
  std::string error;
  net::ListenOptions plain;  // no SO_REUSEPORT: nobody else can bind it
  uint16_t b = free_port();
  net::Fd taken = net::listen_tcp(*net::SocketAddress::from_numeric("127.0.0.1", b), plain, error);
  ASSERT_TRUE(taken) << error;

  proxy.rewrite(simple_config(a, up.port()) + "[[listener]]\nname = \"never_ran\"\nlisten = " +
                "\"127.0.0.1:" + std::to_string(b) + "\"\nupstream = \"up\"\n");
  proxy.process().signal(SIGHUP);
  ASSERT_TRUE(proxy.process().wait_for_log("event=reload_failed", 5s)) << proxy.process().err();
  EXPECT_EQ(proxy.metrics().find("never_ran"), std::string::npos) << proxy.metrics();
  net::Fd fd = connect_to("127.0.0.1", a);
  EXPECT_TRUE(fd && echoes(fd.get()));
}

TEST(Lifecycle, SigtermStopsAcceptingAndLetsConnectionsFinish) {
  TestUpstream up;
  uint16_t a = free_port();
  RunningProxy proxy(simple_config(a, up.port(), "drain_timeout = \"30s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd held = connect_to("127.0.0.1", a);
  ASSERT_TRUE(echoes(held.get()));

  proxy.process().signal(SIGTERM);
  ASSERT_TRUE(proxy.process().wait_for_log("event=draining", 5s));
  EXPECT_TRUE(wait_until([&] { return !connect_to("127.0.0.1", a, 500ms); }, 3s))
      << "still accepting while draining";
  EXPECT_TRUE(echoes(held.get(), "finishing")) << "draining cut an open connection";
  EXPECT_TRUE(proxy.process().running());
  held.reset();  // the last connection ends: the proxy exits, 0
  auto status = proxy.process().wait_exit(5s);
  ASSERT_TRUE(status.has_value()) << "did not exit after the last connection closed";
  EXPECT_EQ(*status, 0);
}

TEST(Lifecycle, DrainTimeoutEndsConnectionsThatDoNotFinish) {
  TestUpstream up;
  uint16_t a = free_port();
  RunningProxy proxy(simple_config(a, up.port(), "drain_timeout = \"500ms\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd held = connect_to("127.0.0.1", a);
  ASSERT_TRUE(echoes(held.get()));
  auto t0 = Clock::now();
  proxy.process().signal(SIGTERM);
  auto status = proxy.process().wait_exit(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_GE(Clock::now() - t0, 400ms) << "did not wait for the drain timeout";
  EXPECT_TRUE(wait_closed(held.get(), 1s));
}

}  // namespace
}  // namespace ferry::test

namespace ferry::test {
namespace {

TEST(Lifecycle, DropsRootAfterBinding) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to have privileges to drop";
  TestUpstream up;
  uint16_t a = free_port();
  RunningProxy proxy(simple_config(a, up.port(), "user = \"nobody\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  std::string status = read_file("/proc/" + std::to_string(proxy.process().pid()) + "/status");
  size_t at = status.find("Uid:");
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(status.find("\t0\t", at), std::string::npos) << status.substr(at, 40);
  net::Fd fd = connect_to("127.0.0.1", a);
  EXPECT_TRUE(fd && echoes(fd.get())) << "relaying stopped after dropping privileges";
}

TEST(Lifecycle, TheSystemdUnitIsValidAndHardened) {
  std::string out;
  if (run_command({"systemd-analyze", "--version"}, out) != 0) GTEST_SKIP() << "no systemd-analyze";
  TempDir dir;
  std::string unit =
      read_file(std::string(FERRY_SOURCE_DIR) + "/deploy/systemd/ferry-proxy.service");
  RunningProxy::replace_all(unit, "/usr/local/bin/ferry-proxy", binary("ferry-proxy"));
  std::string path = dir.write("ferry-proxy.service", unit, 0644);
  EXPECT_EQ(run_command({"systemd-analyze", "verify", path}, out), 0) << out;
  ASSERT_EQ(
      run_command({"systemd-analyze", "security", "--offline=yes", "--threshold=20", path}, out), 0)
      << out;
  EXPECT_NE(out.find("Overall exposure level"), std::string::npos) << out;
  for (const char* must : {"NoNewPrivileges=yes", "ProtectSystem=strict",
                           "AmbientCapabilities=CAP_NET_BIND_SERVICE", "DynamicUser=yes"}) {
    EXPECT_NE(unit.find(must), std::string::npos) << must;
  }
}

}  // namespace
}  // namespace ferry::test
