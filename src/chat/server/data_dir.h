// The server's data directory: created 0700; holds the Noise static key
// (server.key, 0600, refused if others can read it), the link (server.link),
// the database (server.db*) and a lock so two servers never share it.
#pragma once

#include <optional>
#include <string>

#include "crypto/primitives/dh.h"
#include "net/fd.h"

namespace ferry::chat::server {

class DataDir {
 public:
  // Creates the directory if needed and takes its lock (flock on
  // DIR/server.lock). nullopt + error if another server holds it.
  static std::optional<DataDir> open(const std::string& dir, std::string& error);

  // Loads DIR/server.key, or creates it on first start (`created` says which).
  std::optional<crypto::DhKeyPair> load_or_create_key(bool& created, std::string& error);
  bool write_link(const std::string& link, std::string& error);

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  DataDir(std::string dir, net::Fd lock) : dir_(std::move(dir)), lock_(std::move(lock)) {}
  std::string dir_;
  net::Fd lock_;
};

}  // namespace ferry::chat::server
