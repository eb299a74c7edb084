// ConfigError's text and reading a config file; the parsing itself is in
// config_parse.cpp, the rendering in config_render.cpp.
#include "proxy/config.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "net/fd.h"

namespace ferry::proxy {
namespace {

ConfigError read_error(const std::string& path, int err) {
  return ConfigError{path, 0, 0, "", std::string("cannot read: ") + std::strerror(err)};
}

}  // namespace

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

ConfigResult load_config_file(const std::string& path) {
  net::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return read_error(path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return read_error(path, errno);
  if (S_ISDIR(st.st_mode)) return read_error(path, EISDIR);
  // Read at most one byte more than the limit, whatever the file claims to be
  // (a pipe or /dev/zero has no useful size).
  std::string text(kMaxConfigBytes + 1, '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return read_error(path, errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return parse_config(text, path);
}

}  // namespace ferry::proxy
