#include "haproxy.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace ferry::test {
namespace {

// TCP state "0A" in /proc/net/tcp is LISTEN; the local port is the hex after
// the colon of the second column.
bool listening_in(const std::string& table, uint16_t port) {
  std::istringstream in(table);
  std::string line;
  std::getline(in, line);  // header
  for (int i = 0; i < 100000 && std::getline(in, line); ++i) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    if (!(fields >> slot >> local >> remote >> state)) continue;
    size_t colon = local.rfind(':');
    if (colon == std::string::npos || state != "0A") continue;
    if (std::strtoul(local.c_str() + colon + 1, nullptr, 16) == port) return true;
  }
  return false;
}

}  // namespace

bool is_listening(uint16_t port) {
  return listening_in(read_file("/proc/net/tcp"), port) ||
         listening_in(read_file("/proc/net/tcp6"), port);
}

RunningHaproxy::RunningHaproxy(const std::string& sections,
                               const std::vector<uint16_t>& listen_ports) {
  std::string cfg =
      "global\n"
      "  maxconn 500\n"
      "  nbthread 1\n"
      "  log stderr format raw local0 info\n"
      "  stats socket " +
      dir_.file("admin.sock") +
      " mode 600 level admin\n"
      "defaults\n"
      "  mode tcp\n"
      "  log global\n"
      "  option tcplog\n"
      "  timeout connect 2s\n"
      "  timeout client 20s\n"
      "  timeout server 20s\n" +
      sections;
  std::string path = dir_.write("haproxy.cfg", cfg);
  // -db: stay in the foreground, no daemon, so the Process owns it.
  proc_ =
      std::make_unique<Process>(kBinary, std::vector<std::string>{"-f", path, "-db"}, dir_.path());
  started_ = wait_until(
      [&] {
        if (!proc_->running()) return true;
        for (uint16_t p : listen_ports)
          if (!is_listening(p)) return false;
        return true;
      },
      10s);
  started_ = started_ && proc_->running();
}

std::string RunningHaproxy::command(const std::string& cmd) {
  net::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = dir_.file("admin.sock");
  if (!fd || path.size() >= sizeof addr.sun_path) return "";
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
  if (!send_all(fd.get(), cmd + "\n", 2s)) return "";
  // Non-interactive mode: HAProxy answers and closes.
  std::string answer;
  auto deadline = Clock::now() + 3s;
  char buf[8192];
  while (Clock::now() < deadline) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  return answer;
}

std::string RunningHaproxy::server_stat(const std::string& backend, const std::string& server,
                                        const std::string& field) {
  std::istringstream in(command("show stat"));
  std::string header, line;
  if (!std::getline(in, header) || header.rfind("# ", 0) != 0) return "";
  auto split = [](const std::string& s) {
    std::vector<std::string> v;
    std::string item;
    std::istringstream ss(s);
    while (std::getline(ss, item, ',')) v.push_back(item);
    return v;
  };
  std::vector<std::string> names = split(header.substr(2));
  size_t index = names.size();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == field) index = i;
  if (index == names.size()) return "";
  while (std::getline(in, line)) {
    std::vector<std::string> v = split(line);
    if (v.size() > index && v[0] == backend && v[1] == server) return v[index];
  }
  return "";
}

}  // namespace ferry::test
