// Thin wrappers over the socket calls the proxy makes, with the options it
// always wants. Errors come back as -errno / invalid Fd, never exceptions:
// these run on the hot path.
#pragma once

#include <string>

#include "net/address.h"
#include "net/fd.h"

namespace ferry::net {

struct ListenOptions {
  bool reuse_port = false;  // one socket per worker, kernel spreads accepts
  bool dual_stack = true;   // [::] also accepts IPv4 (IPV6_V6ONLY=0)
  int backlog = 4096;
  bool defer_accept = false;  // TCP_DEFER_ACCEPT: wake only when data arrives
  bool nodelay = true;        // TCP_NODELAY, inherited by every accepted socket
};

// Non-blocking listening TCP socket. On failure returns an invalid Fd and sets
// `error` to a message naming the address.
Fd listen_tcp(const SocketAddress& addr, const ListenOptions& opts, std::string& error);

// Non-blocking, close-on-exec TCP socket with TCP_NODELAY, not connected
// (the ring connects it). Invalid Fd and errno_out on failure.
Fd open_tcp(const SocketAddress& addr, int& errno_out);

// Non-blocking, close-on-exec TCP socket with TCP_NODELAY and connect(2)
// started. Returns an invalid Fd and sets errno_out when connect fails at once.
Fd connect_tcp(const SocketAddress& addr, int& errno_out);

// The pending error of a socket after a non-blocking connect (0 = connected).
int socket_error(int fd);

// True for errors that say this process or host ran short (descriptors,
// memory, local ports), not that the peer is at fault.
bool out_of_resources(int err);

void set_nodelay(int fd);
SocketAddress local_address(int fd);
SocketAddress peer_address(int fd);

}  // namespace ferry::net
