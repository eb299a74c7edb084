// ferry-chat-load: the messenger benchmark's load generator (bench/chat/run.sh).
//
//   ferry-chat-load --link LINK --clients 1000 --server-pid PID --mode throughput
//   ferry-chat-load --link LINK --clients 1000 --mode rate --rate 20000
//
// Phases: register N accounts; measure the server's memory with N idle
// clients connected (and receiving); then load: client i sends `size`-byte
// envelopes to client i+1, which acknowledges each push. `throughput` keeps
// `window` sends in flight per client (closed loop, as fast as the server
// goes); `rate` sends `rate` per second in total (open loop) for latency.
// A message counts when its recipient has it; latency is from the send call
// to that moment. Contents are random bytes: the server cannot tell them
// from end-to-end ciphertext, and the client-side crypto is not what this
// measures. Prints one key=value line.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <vector>

#include "chat/wire/links.h"
#include "crypto/keys.h"
#include "crypto/random.h"
#include "load_connection.h"

namespace {

using ferry::bench::chat::LoadConnection;
namespace pb = ferry::chat::pb;

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// utime + stime of every thread of `pid`, in microseconds.
uint64_t process_cpu_us(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return (utime + stime) * 1'000'000 / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
}

uint64_t own_cpu_us() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1'000'000 +
         static_cast<uint64_t>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

long rss_kib(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

struct Options {
  std::string link;
  int clients = 1000;
  int server_pid = 0;
  std::string mode = "throughput";
  double rate = 20000;
  int window = 4;
  size_t size = 256;
  double warmup_s = 2, duration_s = 8, setup_timeout_s = 120;
  std::string prefix = "load";
};

class Bench {
 public:
  explicit Bench(Options o) : o_(std::move(o)) {}

  int run() {
    std::string error;
    auto link = ferry::chat::ServerLink::parse(o_.link, error);
    if (!link || link->key.empty()) return die("--link: " + error);
    auto addr = ferry::net::SocketAddress::from_host_port(link->address);
    if (!addr) return die("the link's host must be numeric");
    server_ = *addr;
    key_ = link->key;
    for (int i = 0; i < o_.clients; ++i) {
      logins_.push_back(ferry::crypto::dh_generate(ferry::crypto::DhKind::x25519));
      ids_.push_back(ferry::crypto::IdentityKeyPair::generate());
    }
    if (!register_all()) return die("registration failed: " + last_error_);
    long rss0 = o_.server_pid ? rss_kib(o_.server_pid) : -1;
    if (!connect_all()) return die("connecting failed: " + last_error_);
    settle(1000);
    long rss1 = o_.server_pid ? rss_kib(o_.server_pid) : -1;
    double idle_bytes = rss0 > 0 && rss1 > 0 ? double(rss1 - rss0) * 1024 / o_.clients : -1;
    load();
    report(idle_bytes);
    return errors_ == 0 ? 0 : 1;
  }

 private:
  int die(const std::string& why) {
    std::cerr << "ferry-chat-load: " << why << "\n";
    return 1;
  }
  std::string name(int i) const { return o_.prefix + "-" + std::to_string(i); }

  void settle(int ms) {
    uint64_t end = now_ns() + uint64_t(ms) * 1'000'000;
    while (now_ns() < end) loop_.run_once(10);
  }

  // Runs the loop until `done()` or the setup timeout.
  bool run_until(const std::function<bool()>& done) {
    uint64_t end = now_ns() + uint64_t(o_.setup_timeout_s * 1e9);
    while (!done()) {
      if (now_ns() > end || errors_ > 0) return false;
      loop_.run_once(10);
    }
    return true;
  }

  bool register_all() {
    int next = 0, done = 0, open = 0;
    std::vector<std::unique_ptr<LoadConnection>> conns(o_.clients);
    LoadConnection::Callbacks cb;
    cb.ready = [&](LoadConnection& c) {
      pb::Request r;
      auto* reg = r.mutable_register_();
      reg->set_username(name(c.index()));
      auto& id = ids_[c.index()];
      reg->set_identity_key(
          std::string(id.public_key().bytes().begin(), id.public_key().bytes().end()));
      const auto& login = logins_[c.index()].public_key;
      auto sig = id.sign(ferry::crypto::as_bytes(ferry::chat::registration_message(
          std::string(login.begin(), login.end()), name(c.index()))));
      reg->set_signature(std::string(sig.begin(), sig.end()));
      c.send(r);
    };
    cb.response = [&](LoadConnection& c, pb::Response& r) {
      if (!r.has_registered()) {
        last_error_ = r.has_error() ? r.error().message() : "unexpected answer";
        ++errors_;
      }
      c.close();
      --open;
      ++done;
    };
    cb.failed = [&](LoadConnection&, const std::string& why) {
      last_error_ = why;
      ++errors_;
    };
    // A few hundred at a time: registration is a one-off, not what we measure.
    bool ok = run_until([&] {
      while (open < 200 && next < o_.clients) {
        conns[next] = std::make_unique<LoadConnection>(loop_, next, logins_[next], key_, &cb);
        if (!conns[next]->start(server_)) {
          last_error_ = "connect";
          ++errors_;
        }
        ++open;
        ++next;
      }
      return done == o_.clients;
    });
    settle(50);
    return ok;
  }

  bool connect_all() {
    cb_.ready = [&](LoadConnection& c) {
      pb::Request r;
      r.mutable_receive();
      c.send(r);
    };
    cb_.response = [&](LoadConnection& c, pb::Response& r) { on_response(c, r); };
    cb_.failed = [&](LoadConnection&, const std::string& why) {
      last_error_ = why;
      ++errors_;
    };
    for (int i = 0; i < o_.clients; ++i) {
      conns_.push_back(std::make_unique<LoadConnection>(loop_, i, logins_[i], key_, &cb_));
      if (!conns_.back()->start(server_)) return false;
      if (i % 100 == 99) loop_.run_once(0);
    }
    return run_until([&] { return drained_ == o_.clients; });
  }

  void on_response(LoadConnection& c, pb::Response& r) {
    if (r.has_envelopes()) {
      pb::Request ack;
      uint64_t now = now_ns();
      for (const auto& e : r.envelopes().envelopes()) {
        ack.mutable_ack()->add_envelope_ids(e.id());
        uint64_t sent_at = 0;
        if (e.content().size() >= 8) std::memcpy(&sent_at, e.content().data(), 8);
        ++delivered_total_;
        if (measuring_ && sent_at >= window_start_ns_) {
          ++delivered_;
          latencies_us_.push_back(static_cast<uint32_t>((now - sent_at) / 1000));
        }
      }
      if (ack.ack().envelope_ids_size() > 0) c.send(ack);
      if (r.envelopes().drained() && !c_drained_[c.index()]) {
        c_drained_[c.index()] = true;
        ++drained_;
      }
      return;
    }
    if (r.has_sent()) {
      if (c.in_flight > 0) --c.in_flight;
      ++sent_total_;
      if (closed_loop_) send_one(c);
      return;
    }
    if (r.has_error()) {
      last_error_ =
          std::string(ferry::chat::error_code_name(r.error().code())) + " " + r.error().message();
      ++errors_;
    }
  }

  void send_one(LoadConnection& c) {
    pb::Request r;
    auto* s = r.mutable_send();
    s->set_recipient(name((c.index() + 1) % o_.clients));
    s->set_client_id(++client_id_);
    std::string content(o_.size, '\0');
    ferry::crypto::random_bytes(reinterpret_cast<uint8_t*>(content.data()), content.size());
    uint64_t t = now_ns();
    std::memcpy(content.data(), &t, 8);
    s->set_content(std::move(content));
    ++c.in_flight;
    c.send(r);
  }

  void load() {
    closed_loop_ = o_.mode == "throughput";
    uint64_t start = now_ns();
    uint64_t warm_end = start + uint64_t(o_.warmup_s * 1e9);
    uint64_t end = warm_end + uint64_t(o_.duration_s * 1e9);
    if (closed_loop_) {
      for (auto& c : conns_)
        for (int w = 0; w < o_.window; ++w) send_one(*c);
    }
    uint64_t paced = 0;
    size_t rr = 0;
    while (now_ns() < end && errors_ == 0) {
      uint64_t now = now_ns();
      if (!measuring_ && now >= warm_end) {
        measuring_ = true;
        window_start_ns_ = now;
        sent_at_window_ = sent_total_;
        server_cpu0_ = o_.server_pid ? process_cpu_us(o_.server_pid) : 0;
        own_cpu0_ = own_cpu_us();
      }
      if (!closed_loop_) {
        // Open loop: as many sends as the clock says are due, round robin.
        uint64_t due = uint64_t(double(now - start) / 1e9 * o_.rate);
        for (; paced < due; ++paced) {
          auto& c = *conns_[rr++ % conns_.size()];
          if (c.in_flight < 64)
            send_one(c);  // a client never queues without bound
          else
            ++skipped_;
        }
      }
      loop_.run_once(1);
    }
    measured_s_ = double(now_ns() - window_start_ns_) / 1e9;
    sent_in_window_ = sent_total_ - sent_at_window_;
    if (o_.server_pid) server_cpu_us_ = process_cpu_us(o_.server_pid) - server_cpu0_;
    own_cpu_us_ = own_cpu_us() - own_cpu0_;
    measuring_ = false;
    closed_loop_ = false;
    settle(500);  // let what is in flight land (not counted)
  }

  void report(double idle_bytes) {
    std::sort(latencies_us_.begin(), latencies_us_.end());
    auto pct = [&](double p) {
      if (latencies_us_.empty()) return -1.0;
      size_t i = std::min(latencies_us_.size() - 1, size_t(p * double(latencies_us_.size())));
      return latencies_us_[i] / 1000.0;
    };
    std::cout << "mode=" << o_.mode << " clients=" << o_.clients << " size=" << o_.size
              << (o_.mode == "rate" ? " target_rate=" + std::to_string(int(o_.rate)) : "")
              << " delivered_per_s=" << int(double(delivered_) / measured_s_)
              << " stored_per_s=" << int(double(sent_in_window_) / measured_s_)
              << " p50_ms=" << pct(0.50) << " p99_ms=" << pct(0.99) << " max_ms=" << pct(1.0)
              << " idle_bytes_per_client=" << int(idle_bytes) << " server_cpu_us_per_msg="
              << (o_.server_pid && delivered_ ? double(server_cpu_us_) / double(delivered_) : -1)
              << " load_cpu_us_per_msg="
              << (delivered_ ? double(own_cpu_us_) / double(delivered_) : -1)
              << " skipped=" << skipped_ << " errors=" << errors_
              << (errors_ ? " last_error=\"" + last_error_ + "\"" : "") << std::endl;
  }

  Options o_;
  ferry::net::EventLoop loop_;
  ferry::net::SocketAddress server_;
  std::string key_;
  std::vector<ferry::crypto::DhKeyPair> logins_;
  std::vector<ferry::crypto::IdentityKeyPair> ids_;
  std::vector<std::unique_ptr<LoadConnection>> conns_;
  LoadConnection::Callbacks cb_;
  std::vector<bool> c_drained_ = std::vector<bool>(100000, false);
  int drained_ = 0;
  bool closed_loop_ = false, measuring_ = false;
  uint64_t window_start_ns_ = 0, client_id_ = 0;
  uint64_t delivered_ = 0, delivered_total_ = 0, sent_total_ = 0, sent_at_window_ = 0;
  uint64_t sent_in_window_ = 0, skipped_ = 0;
  double measured_s_ = 1;
  uint64_t server_cpu0_ = 0, own_cpu0_ = 0, server_cpu_us_ = 0, own_cpu_us_ = 0;
  std::vector<uint32_t> latencies_us_;
  int errors_ = 0;
  std::string last_error_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"ferry-chat-load: load generator for ferry-server"};
  app.add_option("--link", o.link, "the server link")->required();
  app.add_option("--clients", o.clients)->check(CLI::Range(2, 50000))->capture_default_str();
  app.add_option("--server-pid", o.server_pid, "measure this process's memory");
  app.add_option("--mode", o.mode)
      ->check(CLI::IsMember({"throughput", "rate"}))
      ->capture_default_str();
  app.add_option("--rate", o.rate, "messages per second in total (rate mode)")
      ->capture_default_str();
  app.add_option("--window", o.window, "sends in flight per client (throughput mode)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--size", o.size, "bytes per message")
      ->check(CLI::Range(16, 60000))
      ->capture_default_str();
  app.add_option("--warmup", o.warmup_s)->capture_default_str();
  app.add_option("--duration", o.duration_s)->capture_default_str();
  app.add_option("--prefix", o.prefix, "username prefix (unique per run on one server)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return Bench(o).run();
}
