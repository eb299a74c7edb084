// Text from the network shown on a terminal: a peer's message or name, or a
// server's error message. Escaped so it stays on its own line and cannot pass
// for another (a newline, or escape codes that move the cursor).
#pragma once

#include <string>

namespace ferry::chat::client {

// One line: newlines and backslashes escaped, other control characters '?'.
std::string printable(const std::string& text);

}  // namespace ferry::chat::client
