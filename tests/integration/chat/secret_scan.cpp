// chat_secret_scan: does any of FILES contain a long-term private key or a
// message text? Used by censorship_test.sh on the proxy's capture and the
// server's database.
//
//   chat_secret_scan --home DIR... --server-key FILE --texts FILE -- FILE...
//
// Secrets: each home's identity seed and Noise login key (from its
// ferry.db), the server's static key. Texts: one per line. Prints what it
// found where and exits 1, or prints a summary and exits 0.
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "chat/client/store.h"
#include "chat/wire/links.h"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Needle {
  std::string what;
  std::string bytes;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<Needle> needles;
  std::vector<std::string> files;
  size_t secrets = 0, texts = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) files.push_back(argv[i]);
      break;
    }
    if (i + 1 >= argc) {
      std::cerr << "usage: chat_secret_scan --home DIR --server-key FILE --texts FILE -- FILE...\n";
      return 2;
    }
    std::string v = argv[++i];
    if (a == "--home") {
      std::string error;
      auto store = ferry::chat::client::ClientStore::open(v, error);
      if (!store) {
        std::cerr << error << "\n";
        return 2;
      }
      auto id = store->get("identity");
      auto login = store->get("login");
      if (!id || id->size() != 33 || !login || login->size() != 32) {
        std::cerr << v << ": no keys\n";
        return 2;
      }
      needles.push_back({v + " identity seed", id->substr(1)});
      needles.push_back({v + " login key", *login});
      secrets += 2;
    } else if (a == "--server-key") {
      std::string text = slurp(v);
      size_t sp = text.find(' ');
      auto raw = ferry::chat::base64url_decode(
          text.substr(sp + 1, text.find_first_of("\r\n", sp) - sp - 1));
      if (sp == std::string::npos || !raw || raw->size() != 32) {
        std::cerr << v << ": not a server key file\n";
        return 2;
      }
      needles.push_back({"server static key", *raw});
      ++secrets;
    } else if (a == "--texts") {
      std::istringstream in(slurp(v));
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) {
          needles.push_back({"text \"" + line + "\"", line});
          ++texts;
        }
    } else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  int found = 0;
  for (const auto& f : files) {
    std::string data = slurp(f);
    for (const auto& n : needles) {
      if (data.find(n.bytes) != std::string::npos) {
        std::cout << "FOUND " << n.what << " in " << f << "\n";
        ++found;
      }
    }
  }
  if (found > 0) return 1;
  std::cout << "clean: " << secrets << " private keys and " << texts << " texts in none of "
            << files.size() << " files\n";
  return 0;
}
