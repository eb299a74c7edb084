// An upstream server for tests, on its own event loop thread, holding as
// many connections as the test needs (thousands).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "net/fd.h"

namespace ferry::test {

class TestUpstream {
 public:
  enum class Mode {
    echo,         // sends back what it gets; passes EOF on after the echo
    echo_at_eof,  // keeps everything until EOF, then sends it back and closes
    stall,        // accepts and never reads (a slow reader that never recovers)
  };

  explicit TestUpstream(Mode mode = Mode::echo, const std::string& host = "127.0.0.1");
  ~TestUpstream();
  TestUpstream(const TestUpstream&) = delete;
  TestUpstream& operator=(const TestUpstream&) = delete;

  uint16_t port() const { return port_; }
  size_t accepted() const { return accepted_.load(); }
  size_t open() const { return open_.load(); }
  size_t eofs() const { return eofs_.load(); }
  // The first bytes of each connection (up to 512), in accept order: a PROXY
  // header sent by the relay shows up here. Echo mode strips nothing.
  std::vector<std::string> first_bytes() const;
  // Stops listening (connections in progress stay) / resumes.
  void close_listener();

 private:
  class Conn;
  class Acceptor;
  void record(size_t index, const char* data, size_t len);

  Mode mode_;
  uint16_t port_ = 0;
  net::EventLoop loop_;
  std::unique_ptr<Acceptor> acceptor_;
  std::thread thread_;
  std::atomic<size_t> accepted_{0};
  std::atomic<size_t> open_{0};
  std::atomic<size_t> eofs_{0};
  mutable std::mutex mu_;
  std::vector<std::string> first_;
  std::vector<Conn*> conns_;
};

}  // namespace ferry::test
