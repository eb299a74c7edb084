#include "chat/client/chat_ui.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include "chat/client/printable.h"

namespace ferry::chat::client {
namespace {

constexpr uint64_t kPingEveryMs = 30'000;
constexpr int kMaxReconnects = 60;

std::string snippet(const std::string& text) {
  std::string p = printable(text);
  return p.size() > 40 ? p.substr(0, 37) + "..." : p;
}

// Reconnects with growing pauses; false after kMaxReconnects failures.
bool reconnect(Messenger& m, const std::string& why) {
  std::cerr << "[offline: " << why << "; reconnecting]" << std::endl;
  for (int attempt = 0; attempt < kMaxReconnects; ++attempt) {
    // 1 s, 2 s, 4 s ... then every 30 s.
    const int pause_ms = attempt < 5 ? 1000 << attempt : 30'000;
    ::poll(nullptr, 0, pause_ms);
    try {
      m.disconnect();
      m.connect();
      m.send_queued();
      m.start_receiving();
      std::cerr << "[online]" << std::endl;
      return true;
    } catch (const ClientError& e) {
      if (e.code() != ExitCode::unreachable) throw;
    }
  }
  return false;
}

}  // namespace

int run_chat(Messenger& m, const std::string& peer) {
  if (!valid_username(peer)) throw ClientError(ExitCode::usage, "not a username: " + peer);
  Events ev;
  ev.message = [&](const InItem& item) {
    std::cout << printable(item.sender) << ": " << printable(item.text) << std::endl;
  };
  ev.sent = [](const OutItem& item) { std::cout << "[sent] " << snippet(item.text) << std::endl; };
  ev.delivered = [](const std::string& who, int n) {
    std::cout << "[delivered] " << n << (n == 1 ? " message" : " messages") << " to " << who
              << std::endl;
  };
  ev.warning = [](const std::string& line) { std::cerr << "ferry: " << line << std::endl; };
  ev.failed = [](const OutItem& item, const ClientError& why) {
    std::cout << "[not sent] " << snippet(item.text) << ": " << why.what() << std::endl;
  };
  m.set_events(ev);

  m.process_held();
  m.connect();
  m.send_queued();
  m.start_receiving();
  std::cerr << "[chatting with " << peer << " as " << m.username()
            << "; type a message and press Enter, Ctrl-D to leave]" << std::endl;

  std::string typed;
  bool stdin_open = true;
  uint64_t next_ping = now_ms() + kPingEveryMs;
  for (;;) {
    try {
      if (!stdin_open) {
        // Leaving: give what was typed a bounded chance to reach the server.
        m.flush_outbox(now_ms() + 10'000);
        for (const auto& who : m.identity_changes())
          std::cerr << "ferry: the identity key of " << who
                    << " changed; messages are held until you accept it" << std::endl;
        return 0;
      }
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {m.connection().fd(), POLLIN, 0}};
      if (m.connection().queued_bytes() > 0) fds[1].events |= POLLOUT;
      int timeout = m.connection().has_buffered() ? 0 : 1000;
      int n = ::poll(fds, 2, timeout);
      if (n < 0 && errno != EINTR) throw ClientError(ExitCode::error, "poll failed");
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[4096];
        ssize_t got = ::read(STDIN_FILENO, buf, sizeof buf);
        if (got <= 0) {
          stdin_open = false;
        } else {
          typed.append(buf, static_cast<size_t>(got));
        }
        size_t nl;
        while ((nl = typed.find('\n')) != std::string::npos) {
          std::string line = typed.substr(0, nl);
          typed.erase(0, nl + 1);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (line == "/quit") {
            stdin_open = false;
            break;
          }
          if (line.empty()) continue;
          m.enqueue_text(peer, line);
        }
        m.send_queued();
      }
      m.pump_now();
      m.check_identities();
      if (now_ms() >= next_ping) {
        m.ping();
        m.store().checkpoint();  // what was deleted leaves the disk within a ping interval
        next_ping = now_ms() + kPingEveryMs;
      }
    } catch (const ClientError& e) {
      if (e.code() != ExitCode::unreachable) throw;
      if (!stdin_open)  // leaving anyway: what is unsent waits in the outbox
        throw ClientError(e.code(),
                          std::string(e.what()) + " (unsent messages are kept in the outbox)");
      if (!reconnect(m, e.what())) throw;
      next_ping = now_ms() + kPingEveryMs;
    }
  }
}

}  // namespace ferry::chat::client
