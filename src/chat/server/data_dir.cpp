#include "chat/server/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "chat/wire/links.h"
#include "crypto/bytes.h"
#include "crypto/secret.h"

namespace ferry::chat::server {
namespace {

constexpr std::string_view kKeyHeader = "ferry-server-static-key-v1 ";

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

bool write_file(const std::string& path, std::string_view data, mode_t mode, std::string& error) {
  // Write to a temporary name and rename: a crash never leaves half a file.
  std::string tmp = path + ".tmp";
  net::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) {
    error = errno_text("cannot create " + tmp);
    return false;
  }
  ::fchmod(fd.get(), mode);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = errno_text("cannot write " + tmp);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = errno_text("cannot save " + path);
    return false;
  }
  // The rename is durable only once the directory is: a power cut must not
  // lose the server's key (every client pins it).
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  net::Fd dir_fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd || ::fsync(dir_fd.get()) != 0) {
    error = errno_text("cannot save " + path);
    return false;
  }
  return true;
}

}  // namespace

std::optional<DataDir> DataDir::open(const std::string& dir, std::string& error) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error = errno_text("cannot create " + dir);
    return std::nullopt;
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = dir + " is not a directory";
    return std::nullopt;
  }
  std::string lock_path = dir + "/server.lock";
  net::Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!lock) {
    error = errno_text("cannot open " + lock_path);
    return std::nullopt;
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    error = dir + " is in use by another ferry-server";
    return std::nullopt;
  }
  return DataDir(dir, std::move(lock));
}

std::optional<crypto::DhKeyPair> DataDir::load_or_create_key(bool& created, std::string& error) {
  std::string key_path = path("server.key");
  created = false;
  net::Fd fd(::open(key_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd && errno == ENOENT) {
    auto pair = crypto::dh_generate(crypto::DhKind::x25519);
    std::string priv(reinterpret_cast<const char*>(pair.private_key.data()),
                     pair.private_key.size());
    std::string text = std::string(kKeyHeader) + base64url_encode(priv) + "\n";
    crypto::wipe(priv.data(), priv.size());
    bool ok = write_file(key_path, text, 0600, error);
    crypto::wipe(text.data(), text.size());
    if (!ok) return std::nullopt;
    created = true;
    return pair;
  }
  if (!fd) {
    error = errno_text("cannot open " + key_path);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || (st.st_mode & 077) != 0) {
    error = key_path + " can be read by others; fix it with chmod 600 " + key_path;
    return std::nullopt;
  }
  char buf[256];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n <= 0) {
    error = errno_text("cannot read " + key_path);
    return std::nullopt;
  }
  std::string_view text(buf, static_cast<size_t>(n));
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::optional<std::string> raw;
  if (text.starts_with(kKeyHeader)) raw = base64url_decode(text.substr(kKeyHeader.size()));
  crypto::wipe(buf, sizeof buf);
  if (!raw || raw->size() != 32) {
    error = key_path + " is not a ferry-server key file";
    return std::nullopt;
  }
  std::string& key = *raw;
  auto pair = crypto::dh_keypair_from_private(crypto::DhKind::x25519, crypto::as_bytes(key));
  crypto::wipe(key.data(), key.size());
  if (!pair) {
    error = key_path + " holds an unusable key";
    return std::nullopt;
  }
  return std::move(pair).value();
}

bool DataDir::write_link(const std::string& link, std::string& error) {
  return write_file(path("server.link"), link + "\n", 0644, error);
}

}  // namespace ferry::chat::server
