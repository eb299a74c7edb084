// What the chat integration tests share: a ferry-server process that can be
// killed and restarted on the same data directory and ports, `ferry` runs
// with separate stdout/stderr, and the server's counters (SIGUSR1).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "harness/harness.h"

namespace ferry::test::chat {

struct Run {
  int code = -1;  // -1: did not finish in time
  std::string out, err;
};

// Runs `ferry --home HOME ARGS...` to completion (bounded).
inline Run ferry(const std::string& home, std::vector<std::string> args, Duration limit = 60s) {
  TempDir logs;
  args.insert(args.begin(), {"--home", home});
  Process p(binary("ferry"), args, logs.path());
  Run r;
  auto status = p.wait_exit(limit);
  r.code = status ? *status : -1;
  r.out = p.out();
  r.err = p.err();
  return r;
}

// `ferry --home HOME chat PEER < input_file`: sends every line, exits at EOF.
inline int run_chat_with_input(const std::string& home, const std::string& peer,
                               const std::string& input_file, Duration limit = 120s) {
  TempDir logs;
  Process p("/bin/sh",
            {"-c", "exec \"$0\" --home \"$1\" chat \"$2\" < \"$3\"", binary("ferry"), home, peer,
             input_file},
            logs.path());
  auto status = p.wait_exit(limit);
  if (!status || *status != 0) ADD_FAILURE() << "chat: " << p.err();
  return status ? *status : -1;
}

// `ferry --home HOME chat PEER`, its input a pipe the test types into, its
// output in files. Killed at destruction if still running.
class ChatSession {
 public:
  ChatSession(const std::string& home, const std::string& peer)
      : out_path_(logs_.file("chat.out")), err_path_(logs_.file("chat.err")) {
    // A write to a chat that has died fails this test, not the whole binary.
    ::signal(SIGPIPE, SIG_IGN);
    const std::string bin = binary("ferry");
    int in_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in_pipe[0], 0);
      int o = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      int e = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::execl(bin.c_str(), bin.c_str(), "--home", home.c_str(), "chat", peer.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(in_pipe[0]);
    input_ = in_pipe[1];
  }
  ~ChatSession() {
    close_input();
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ChatSession(const ChatSession&) = delete;
  ChatSession& operator=(const ChatSession&) = delete;

  bool started() const { return pid_ > 0 && input_ >= 0; }
  bool type(const std::string& line) {
    std::string text = line + "\n";
    return ::write(input_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  }
  void close_input() {  // Ctrl-D
    if (input_ >= 0) ::close(input_);
    input_ = -1;
  }
  std::string out() const { return read_file(out_path_); }
  std::string err() const { return read_file(err_path_); }
  bool shows(const std::string& text, Duration limit = 20s) const {
    return wait_until([&] { return out().find(text) != std::string::npos; }, limit);
  }
  bool says(const std::string& text, Duration limit = 20s) const {
    return wait_until([&] { return err().find(text) != std::string::npos; }, limit);
  }
  // Exit status, or nullopt if still running after `limit`.
  std::optional<int> wait_exit(Duration limit) {
    if (pid_ <= 0) return std::nullopt;
    int status = 0;
    if (!wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, limit))
      return std::nullopt;
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  TempDir logs_;
  std::string out_path_, err_path_;
  pid_t pid_ = -1;
  int input_ = -1;
  bool exited_ = false;
};

inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class RunningServer {
 public:
  explicit RunningServer(std::vector<std::string> extra = {})
      : port_(free_port()), proxy_port_(free_port()), extra_(std::move(extra)) {
    start();
  }

  void start() {
    std::vector<std::string> args = {"--listen",       "127.0.0.1:" + std::to_string(port_),
                                     "--proxy-listen", "127.0.0.1:" + std::to_string(proxy_port_),
                                     "--data",         data_.path() + "/srv"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    proc_ = std::make_unique<Process>(binary("ferry-server"), args, logs_.path());
    ready_ = proc_->wait_for_log("event=chat_server_ready", 15s);
    if (ready_) link_ = lines(proc_->out()).at(0);
  }
  void kill9() {
    proc_->signal(SIGKILL);
    proc_->wait_exit(10s);
  }
  void restart() {
    kill9();
    start();
  }

  bool ready() const { return ready_; }
  const std::string& link() const { return link_; }
  uint16_t port() const { return port_; }
  uint16_t proxy_port() const { return proxy_port_; }
  Process& process() { return *proc_; }
  std::string data_dir() const { return data_.path() + "/srv"; }

  // The counters, fresh: SIGUSR1, then the new stats line.
  std::map<std::string, long> stats() {
    auto count = [&] {
      size_t n = 0;
      std::string err = proc_->err();
      for (size_t at = err.find("event=chat_server_stats"); at != std::string::npos;
           at = err.find("event=chat_server_stats", at + 1))
        ++n;
      return n;
    };
    size_t before = count();
    proc_->signal(SIGUSR1);
    std::map<std::string, long> out;
    if (!wait_until([&] { return count() > before; }, 10s)) return out;
    std::string err = proc_->err();
    size_t at = err.rfind("counters=\"");
    size_t end = err.find('"', at + 10);
    std::istringstream in(err.substr(at + 10, end - at - 10));
    for (std::string kv; in >> kv;) {
      size_t eq = kv.find('=');
      if (eq != std::string::npos) out[kv.substr(0, eq)] = std::stol(kv.substr(eq + 1));
    }
    return out;
  }

 private:
  TempDir data_, logs_;
  uint16_t port_, proxy_port_;
  std::vector<std::string> extra_;
  std::unique_ptr<Process> proc_;
  bool ready_ = false;
  std::string link_;
};

// A fixture with a server and homes for a few users.
class ChatTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_->ready()) << server_->process().err(); }
  std::string home(const std::string& user) { return homes_.path() + "/" + user; }
  void register_user(const std::string& user) {
    auto r = ferry(home(user), {"register", user, "--server", server_->link()});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  // `user` loses the phone: the server forgets every account (a new
  // database, the same key), and `user` registers again from a fresh home,
  // with a new identity. Other users must register again too.
  void lose_phone(const std::string& user) {
    server_->kill9();
    for (const char* f : {"server.db", "server.db-wal", "server.db-shm"})
      std::filesystem::remove(server_->data_dir() + "/" + f);
    server_->start();
    ASSERT_TRUE(server_->ready());
    std::filesystem::remove_all(home(user));
    register_user(user);
  }

  std::unique_ptr<RunningServer> server_ = std::make_unique<RunningServer>();
  TempDir homes_;
};

}  // namespace ferry::test::chat
