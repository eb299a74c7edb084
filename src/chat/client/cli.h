// The `ferry` command line: register, send, receive, chat, safety-number.
// apps/ferry.cpp is just `return run_cli(argc, argv);`.
#pragma once

#include <string>

namespace ferry::chat::client {

int run_cli(int argc, char** argv);

// One message as one line: newlines and other control characters escaped.
std::string printable(const std::string& text);

}  // namespace ferry::chat::client
