// Dropping root after the privileged work (binding ports below 1024, reading
// key files) is done.
#pragma once

#include <string>

namespace ferry::proxy {

// Switches to `user` (and its groups) for good. False with a message on any
// failure: the caller must not go on running as root by accident.
bool drop_privileges(const std::string& user, std::string& error);

}  // namespace ferry::proxy
