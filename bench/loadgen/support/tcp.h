// The few socket calls the bench tools make, with the options they always
// want (non-blocking, close-on-exec, no Nagle). Errors are errno values.
#pragma once

#include "net/fd.h"
#include "support/endpoint.h"

namespace ferry::bench {

// Starts a non-blocking connect. Invalid Fd and `err` set when it failed at once.
net::Fd start_connect(const Endpoint& to, int& err);

// The pending error of a socket after a non-blocking connect (0 = connected).
int pending_error(int fd);

// Non-blocking listener; SO_REUSEPORT so every thread can have its own.
net::Fd listen_reuseport(const Endpoint& at, int backlog, int& err);

void set_nodelay(int fd);

}  // namespace ferry::bench
