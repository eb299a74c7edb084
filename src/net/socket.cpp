#include "net/socket.h"

#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

namespace ferry::net {

Fd listen_tcp(const SocketAddress& addr, const ListenOptions& opts, std::string& error) {
  Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  auto fail = [&](const char* what) {
    error = std::string(what) + " " + addr.to_string() + ": " + std::strerror(errno);
    return Fd();
  };
  if (!fd) return fail("socket");
  int one = 1, zero = 0;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (opts.reuse_port && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    return fail("SO_REUSEPORT");
  if (addr.is_v6()) {
    const int* v6only = opts.dual_stack ? &zero : &one;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, v6only, sizeof one);
  }
  if (opts.nodelay) ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (opts.defer_accept) {
    int secs = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs);
  }
  if (::bind(fd.get(), addr.sa(), addr.len()) != 0) return fail("bind");
  if (::listen(fd.get(), opts.backlog) != 0) return fail("listen");
  return fd;
}

Fd open_tcp(const SocketAddress& addr, int& errno_out) {
  errno_out = 0;
  Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) {
    errno_out = errno;
    return fd;
  }
  set_nodelay(fd.get());
  return fd;
}

Fd connect_tcp(const SocketAddress& addr, int& errno_out) {
  Fd fd = open_tcp(addr, errno_out);
  if (!fd) return fd;
  if (::connect(fd.get(), addr.sa(), addr.len()) != 0 && errno != EINPROGRESS) {
    errno_out = errno;
    return Fd();
  }
  return fd;
}

int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

bool out_of_resources(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM || err == EADDRNOTAVAIL;
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

SocketAddress local_address(int fd) {
  SocketAddress a;
  *a.len_ptr() = sizeof(sockaddr_storage);
  if (::getsockname(fd, a.sa(), a.len_ptr()) != 0) return {};
  return a;
}

SocketAddress peer_address(int fd) {
  SocketAddress a;
  *a.len_ptr() = sizeof(sockaddr_storage);
  if (::getpeername(fd, a.sa(), a.len_ptr()) != 0) return {};
  return a;
}

}  // namespace ferry::net
