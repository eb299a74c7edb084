#include "chat/client/cli.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "chat/client/chat_ui.h"
#include "chat/client/messenger.h"
#include "chat/client/printable.h"
#include "chat/db/sqlite.h"
#include "crypto/keys.h"

namespace ferry::chat::client {
namespace {

std::string default_home() {
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.ferry";
}

Events printing_events() {
  Events ev;
  ev.message = [](const InItem& item) {
    std::cout << printable(item.sender) << ": " << printable(item.text) << std::endl;
  };
  ev.warning = [](const std::string& line) { std::cerr << "ferry: " << line << std::endl; };
  return ev;
}

int cmd_register(Messenger& m, const std::string& username, const std::string& server) {
  m.register_account(username, server);
  std::cout << "registered " << username << std::endl;
  return 0;
}

int cmd_send(Messenger& m, const std::string& to, const std::string& text, uint64_t timeout_ms) {
  m.set_events(printing_events());
  uint64_t id = m.enqueue_text(to, text);
  try {
    m.flush_outbox(now_ms() + timeout_ms);
  } catch (const ClientError& e) {
    if (e.code() == ExitCode::unreachable)
      throw ClientError(e.code(), std::string(e.what()) +
                                      " (the message is kept in the outbox and sent next time)");
    throw;
  }
  if (auto f = m.failure(id)) {
    if (f->code() == ExitCode::identity_changed || f->code() == ExitCode::unreachable)
      throw ClientError(f->code(), std::string(f->what()) + " (the message is kept in the outbox)");
    throw *f;
  }
  auto item = m.store().out_item(id);
  if (!item || item->state == OutState::queued)
    throw ClientError(ExitCode::error, "the message was not sent; it stays in the outbox");
  return 0;
}

int cmd_receive(Messenger& m, double wait_seconds, uint64_t timeout_ms) {
  m.set_events(printing_events());
  m.process_held();
  m.connect();
  m.send_queued();
  m.start_receiving();
  // First everything that was waiting, as long as it keeps coming.
  while (!m.drained()) {
    size_t before = m.messages_received();
    bool progress = m.pump(now_ms() + timeout_ms,
                           [&] { return m.drained() || m.messages_received() != before; });
    if (!progress) throw ClientError(ExitCode::unreachable, "the server stopped sending");
  }
  // Then, if asked, wait for something to arrive.
  if (wait_seconds > 0 && m.messages_received() == 0) {
    uint64_t until = now_ms() + static_cast<uint64_t>(wait_seconds * 1000);
    while (m.messages_received() == 0 && now_ms() < until) {
      uint64_t step = std::min<uint64_t>(until, now_ms() + 30'000);
      m.pump(step, [&] { return m.messages_received() > 0; });
      if (m.messages_received() == 0 && now_ms() < until) m.ping();
    }
  }
  // Receipts out, acknowledgements answered: bounded, and harmless if cut
  // short (the outbox keeps receipts; unacknowledged envelopes come again and
  // are recognised).
  uint64_t deadline = now_ms() + 10'000;
  m.send_queued();
  m.pump(deadline, [&] { return !m.sends_pending() && !m.acks_pending(); });
  if (!m.identity_changes().empty()) {
    const std::string& who = m.identity_changes().front();
    throw ClientError(ExitCode::identity_changed,
                      "the identity key of " + who +
                          " changed; their messages are held. Compare safety numbers, then: "
                          "ferry safety-number " +
                          who + " --accept");
  }
  return 0;
}

int cmd_safety_number(Messenger& m, const std::string& peer, bool accept) {
  m.require_registered();
  if (!valid_username(peer)) throw ClientError(ExitCode::usage, "not a username: " + peer);
  auto contact = m.store().contact(peer);
  if (!contact) {
    m.start_session_with(peer);
    contact = m.store().contact(peer);
    if (!contact) throw ClientError(ExitCode::error, "no identity key for " + peer);
  }
  if (accept && !contact->pending_identity_key.empty()) {
    db::Transaction tx(m.store().db());
    m.store().accept_pending_identity(peer);
    tx.commit();
    std::cerr << "ferry: accepted the new identity key of " << peer << std::endl;
    contact = m.store().contact(peer);
  }
  bool changed = !contact->pending_identity_key.empty();
  const std::string& key = changed ? contact->pending_identity_key : contact->identity_key;
  auto theirs = crypto::IdentityPublicKey::from_bytes(crypto::as_bytes(key));
  if (!theirs)
    throw ClientError(ExitCode::error, "the stored identity key of " + peer + " is damaged");
  std::cout << crypto::format_safety_number(
                   crypto::safety_number(m.identity().public_key(), *theirs))
            << std::endl;
  if (changed)
    std::cerr << "ferry: the identity key of " << peer
              << " CHANGED. This is the new safety number; compare it with " << peer
              << " out of band, then run: ferry safety-number " << peer << " --accept" << std::endl;
  return changed ? static_cast<int>(ExitCode::identity_changed) : 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  route_protobuf_logs();
  CLI::App app{"ferry: end-to-end encrypted chat that works through a ferry-proxy"};
  app.require_subcommand(1);
  ClientOptions opts;
  opts.home = default_home();
  std::string proxy;
  double timeout_s = 30;
  app.add_option("--home", opts.home, "home directory (keys, messages)")->capture_default_str();
  app.add_option("--timeout", timeout_s, "seconds to wait for the server")->capture_default_str();
  auto add_proxy = [&](CLI::App* sub) {
    sub->add_option("--proxy", proxy,
                    "HOST:PORT, tls://HOST:PORT or ferry://proxy?... (remembered; 'none' to "
                    "forget)");
  };
  app.add_option("--proxy", proxy, "as for each command");

  std::string username, server, text;
  double wait = 0;
  bool accept = false;
  auto* reg = app.add_subcommand("register", "create this home's account on a server");
  reg->add_option("USERNAME", username)->required();
  reg->add_option("--server", server, "the server link ferry://server?...")->required();
  add_proxy(reg);
  auto* send = app.add_subcommand("send", "send one message (exit 0 once the server stored it)");
  send->add_option("USERNAME", username)->required();
  send->add_option("TEXT", text)->required();
  add_proxy(send);
  auto* recv = app.add_subcommand("receive", "print new messages as 'USERNAME: TEXT', then exit");
  recv->add_option("--wait", wait, "seconds to wait for a message if none is waiting");
  add_proxy(recv);
  auto* chat = app.add_subcommand("chat", "talk with USERNAME in the terminal");
  chat->add_option("USERNAME", username)->required();
  add_proxy(chat);
  auto* safety = app.add_subcommand("safety-number", "the number to compare with USERNAME");
  safety->add_option("USERNAME", username)->required();
  safety->add_flag("--accept", accept, "accept USERNAME's changed identity key");
  add_proxy(safety);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(ExitCode::usage);
  }
  if (!proxy.empty()) opts.proxy = proxy;
  opts.request_timeout_ms = static_cast<uint64_t>(std::max(1.0, timeout_s) * 1000);
  opts.connect_timeout_ms = std::min<uint64_t>(opts.request_timeout_ms, 15'000);

  try {
    Messenger m(opts);
    if (*reg) return cmd_register(m, username, server);
    m.require_registered();
    if (*send) return cmd_send(m, username, text, opts.request_timeout_ms);
    if (*recv) return cmd_receive(m, wait, opts.request_timeout_ms);
    if (*chat) return run_chat(m, username);
    if (*safety) return cmd_safety_number(m, username, accept);
  } catch (const ClientError& e) {
    std::cerr << "ferry: " << e.what() << std::endl;
    return static_cast<int>(e.code());
  } catch (const db::DbError& e) {
    std::cerr << "ferry: local database error: " << e.what() << std::endl;
    return static_cast<int>(ExitCode::error);
  } catch (const std::exception& e) {
    std::cerr << "ferry: " << e.what() << std::endl;
    return static_cast<int>(ExitCode::error);
  }
  return static_cast<int>(ExitCode::usage);
}

}  // namespace ferry::chat::client
