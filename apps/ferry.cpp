// ferry: the Ferry messenger's client. Everything is in src/chat/client;
// the commands and their exit codes: README.md, "Chat through a proxy".
#include "chat/client/cli.h"

int main(int argc, char** argv) {
  return ferry::chat::client::run_cli(argc, argv);
}
