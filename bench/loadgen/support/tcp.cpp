#include "support/tcp.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

namespace ferry::bench {

net::Fd start_connect(const Endpoint& to, int& err) {
  err = 0;
  net::Fd fd(::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) {
    err = errno;
    return fd;
  }
  set_nodelay(fd.get());
  if (::connect(fd.get(), to.sa(), to.len) != 0 && errno != EINPROGRESS) {
    err = errno;
    return net::Fd();
  }
  return fd;
}

int pending_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

net::Fd listen_reuseport(const Endpoint& at, int backlog, int& err) {
  err = 0;
  net::Fd fd(::socket(at.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  int one = 1;
  if (!fd || ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      ::bind(fd.get(), at.sa(), at.len) != 0 || ::listen(fd.get(), backlog) != 0) {
    err = errno;
    return net::Fd();
  }
  return fd;
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace ferry::bench
