// Certificates and keys the operator gives us as PEM files.
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "common/log.h"
#include "net/fd.h"
#include "net/tls.h"

namespace ferry::net::tls {
namespace {

// Far above any real PEM chain or key; stops a wrong path (a log file, a
// device) from being read whole into memory.
constexpr size_t kMaxPemFile = 1 << 20;

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// Holds file bytes that may be a private key: wiped when done.
struct SecretBuffer {
  std::string bytes;
  ~SecretBuffer() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

// systemd's LoadCredential= places keys in $CREDENTIALS_DIRECTORY, a private
// per-service directory; newer systemd grants the service user access with an
// ACL, which shows as group bits. The directory is the protection there.
bool in_credentials_directory(const std::string& path) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr || *dir == '\0') return false;
  std::string prefix = std::string(dir) + "/";
  return path.rfind(prefix, 0) == 0 && path.find("/../") == std::string::npos;
}

// Opens and reads a regular file. With `private_key`, refuses one that group
// or others may read or write, as ssh does for its keys: checked on the open
// descriptor, so the file read is the file checked.
bool read_pem_file(const std::string& path, bool private_key, SecretBuffer& out,
                   std::string& error) {
  const char* what = private_key ? "key file " : "certificate file ";
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer, forever.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) {
    error = what + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    error = what + path + ": not a regular file";
    return false;
  }
  const bool loose = (st.st_mode & 077) != 0 && !in_credentials_directory(path);
  auto refuse_loose = [&](const char* holder) {
    char mode[8];
    (void)std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    error = holder + path + " is accessible by group or others (mode " + mode +
            "); run: chmod 600 " + path;
    return false;
  };
  if (private_key && loose) return refuse_loose(what);
  if (static_cast<size_t>(st.st_size) > kMaxPemFile) {
    error = what + path + ": larger than 1 MiB, not a PEM file";
    return false;
  }
  out.bytes.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.bytes.size()) {
    const ssize_t n = ::read(fd.get(), out.bytes.data() + got, out.bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out.bytes.resize(got);
  // A certificate file that holds a key too (WhatsApp's combined .pem) is a
  // key file, whichever key the configuration names.
  if (!private_key && loose && out.bytes.find("PRIVATE KEY-----") != std::string::npos)
    return refuse_loose("certificate file (it holds a private key) ");
  return true;
}

// An encrypted key would make OpenSSL prompt on the terminal; refuse instead.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

BioPtr memory_bio(const std::string& bytes) {
  return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

}  // namespace

std::optional<Identity> load_identity(const std::string& cert_path, const std::string& key_path,
                                      std::string& error) {
  error.clear();
  ERR_clear_error();
  SecretBuffer key_pem, cert_pem;
  if (!read_pem_file(key_path, true, key_pem, error)) return std::nullopt;
  if (!read_pem_file(cert_path, false, cert_pem, error)) return std::nullopt;

  Identity id;
  {
    BioPtr bio = memory_bio(key_pem.bytes);
    if (bio) id.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!id.key) {
      error = "key file " + key_path + ": no usable private key (encrypted keys are not " +
              "supported): " + last_error();
      return std::nullopt;
    }
  }
  {
    // Every CERTIFICATE block in order, leaf first; other blocks (a key in
    // the same file, as WhatsApp's combined .pem has) are skipped.
    BioPtr bio = memory_bio(cert_pem.bytes);
    while (bio) {
      X509* cert = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr);
      if (!cert) break;
      id.chain.emplace_back(cert);
    }
    ERR_clear_error();  // the loop ends on "no start line"
    if (id.chain.empty()) {
      error = "certificate file " + cert_path + ": no PEM certificate in it";
      return std::nullopt;
    }
  }
  if (X509_check_private_key(id.chain.front().get(), id.key.get()) != 1) {
    ERR_clear_error();
    error = "key file " + key_path + " does not match the certificate in " + cert_path;
    return std::nullopt;
  }
  if (X509_cmp_current_time(X509_get0_notAfter(id.chain.front().get())) < 0) {
    log::warn("tls_certificate_expired", {{"cert", cert_path}});
  }
  return id;
}

}  // namespace ferry::net::tls
