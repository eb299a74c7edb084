// The `ferry` command line: register, send, receive, chat, safety-number.
// apps/ferry.cpp is just `return run_cli(argc, argv);`.
#pragma once

#include <string>

namespace ferry::chat::client {

int run_cli(int argc, char** argv);

}  // namespace ferry::chat::client
