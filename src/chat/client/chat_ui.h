// `ferry chat USERNAME`: an interactive conversation in the terminal. Lines
// typed are sent to USERNAME; incoming messages are printed as they arrive
// ("bob: hi"), and each sent message's state is shown as it changes
// ("[sent] hi", "[delivered] 1 message"). The connection is re-made if it
// drops; what could not be sent waits in the outbox.
#pragma once

#include <string>

#include "chat/client/messenger.h"

namespace ferry::chat::client {

int run_chat(Messenger& m, const std::string& peer);

}  // namespace ferry::chat::client
