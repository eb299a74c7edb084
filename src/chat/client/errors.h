// The client's errors: each is one line for the user and an exit code for
// scripts (docs/chat-through-a-proxy.md lists them).
#pragma once

#include <stdexcept>
#include <string>

namespace ferry::chat::client {

enum class ExitCode : int {
  ok = 0,
  error = 1,        // anything else (server refused, bad local state, ...)
  usage = 2,        // bad arguments
  unreachable = 3,  // server or proxy unreachable, connection lost
  unknown_user = 4,
  identity_changed = 5,  // a contact's identity key changed: compare safety numbers
};

class ClientError : public std::runtime_error {
 public:
  ClientError(ExitCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

}  // namespace ferry::chat::client
