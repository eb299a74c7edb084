// The certificate a volunteer gets without doing anything: generated in
// memory at start, shaped like the one WhatsApp's proxy makes with openssl in
// proxy/src/generate-certs.sh.
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <memory>

#include "net/tls.h"

namespace ferry::net::tls {
namespace {

struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};

constexpr long kSecondsPerDay = 24L * 60 * 60;

bool is_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// WhatsApp's script takes `head -c 60 /dev/urandom | tr -dc 'a-zA-Z0-9'`:
// the alphanumeric bytes among 60 random ones, about 14 characters of varying
// length. Same recipe, so our names have the same shape and spread.
std::string random_name() {
  for (int attempt = 0; attempt < 8; ++attempt) {
    unsigned char buf[60];
    if (RAND_bytes(buf, sizeof buf) != 1) return "";
    std::string s;
    for (unsigned char c : buf) {
      if (is_alnum(c)) s.push_back(static_cast<char>(c));
    }
    if (!s.empty()) return s;
  }
  return "";
}

PkeyPtr generate_key(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::ecdsa_p256:
      return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    case KeyAlgorithm::rsa_2048:
      return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    case KeyAlgorithm::rsa_4096:
      return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096}));
  }
  return nullptr;
}

bool add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool valid_dns_name(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    if (!is_alnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '*' && c != '_') {
      return false;
    }
  }
  return true;
}

bool push_name(GENERAL_NAMES* names, int type, ASN1_STRING* value) {
  GENERAL_NAME* g = GENERAL_NAME_new();
  if (!g) {
    ASN1_STRING_free(value);
    return false;
  }
  GENERAL_NAME_set0_value(g, type, value);
  if (sk_GENERAL_NAME_push(names, g) <= 0) {
    GENERAL_NAME_free(g);
    return false;
  }
  return true;
}

// In WhatsApp's order: given DNS names, the leaf's own CN, then the IPs.
bool add_sans(X509* cert, const std::string& cn, const SelfSignedOptions& opts,
              std::string& error) {
  if (opts.san_dns.empty() && opts.san_ip.empty()) return true;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter> names(sk_GENERAL_NAME_new_null());
  if (!names) return false;
  std::vector<std::string> dns = opts.san_dns;
  dns.push_back(cn);
  for (const std::string& d : dns) {
    if (!valid_dns_name(d)) {
      error = "SAN DNS name '" + d + "' is not a host name";
      return false;
    }
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    if (!s || ASN1_STRING_set(s, d.data(), static_cast<int>(d.size())) != 1) {
      ASN1_IA5STRING_free(s);
      return false;
    }
    if (!push_name(names.get(), GEN_DNS, s)) return false;
  }
  for (const std::string& ip : opts.san_ip) {
    ASN1_OCTET_STRING* bytes = a2i_IPADDRESS(ip.c_str());
    if (!bytes) {
      error = "SAN IP '" + ip + "' is not an IP address";
      return false;
    }
    if (!push_name(names.get(), GEN_IPADD, bytes)) return false;
  }
  return X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

struct CertSpec {
  std::string cn;
  EVP_PKEY* key = nullptr;         // the subject's
  const X509* issuer = nullptr;    // nullptr: self-signed
  EVP_PKEY* issuer_key = nullptr;  // signs
  long days = 0;
  bool ca = false;
  bool rsa = false;
};

X509Ptr make_cert(const CertSpec& spec, const SelfSignedOptions& opts, std::string& error) {
  X509Ptr cert(X509_new());
  std::unique_ptr<BIGNUM, BnDeleter> serial(BN_new());
  if (!cert || !serial) return nullptr;
  // A random positive 159-bit serial, as `openssl req -x509` makes.
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_rand(serial.get(), 159, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ||
      !X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.days * kSecondsPerDay)) {
    return nullptr;
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(),
                           spec.issuer ? X509_get_subject_name(spec.issuer) : subject) != 1 ||
      X509_set_pubkey(cert.get(), spec.key) != 1) {
    return nullptr;
  }

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, spec.issuer ? const_cast<X509*>(spec.issuer) : cert.get(), cert.get(),
                 nullptr, nullptr, 0);
  bool ok = add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash") &&
            add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (spec.ca) {
    ok = ok && add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE") &&
         add_ext(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    // WhatsApp's v3_req section. keyEncipherment only means something for
    // RSA keys (RFC 5480 forbids it for ECDSA), so EC leaves go without.
    ok = ok && add_ext(cert.get(), &ctx, NID_basic_constraints, "CA:FALSE") &&
         add_ext(cert.get(), &ctx, NID_key_usage,
                 spec.rsa ? "nonRepudiation,digitalSignature,keyEncipherment"
                          : "nonRepudiation,digitalSignature") &&
         add_ext(cert.get(), &ctx, NID_ext_key_usage, "clientAuth,serverAuth") &&
         add_sans(cert.get(), spec.cn, opts, error);
  }
  if (!ok || X509_sign(cert.get(), spec.issuer_key, EVP_sha256()) <= 0) return nullptr;
  return cert;
}

}  // namespace

std::optional<Identity> generate_self_signed(const SelfSignedOptions& opts, std::string& error) {
  error.clear();
  if (opts.validity_days <= 0) {
    error = "certificate validity must be at least one day";
    return std::nullopt;
  }
  const bool rsa = opts.algorithm != KeyAlgorithm::ecdsa_p256;
  // The CA of an RSA leaf is RSA-2048, as WhatsApp's always is: it signs one
  // certificate and its key is gone a moment later, so a 4096-bit CA would
  // only add seconds to every start.
  PkeyPtr ca_key = generate_key(rsa ? KeyAlgorithm::rsa_2048 : opts.algorithm);
  PkeyPtr leaf_key = generate_key(opts.algorithm);
  const std::string ca_name = random_name();
  const std::string leaf_name = random_name();
  if (!ca_key || !leaf_key || ca_name.empty() || leaf_name.empty()) {
    error = "generating keys: " + last_error();
    return std::nullopt;
  }
  const long days = opts.validity_days;
  X509Ptr ca =
      make_cert({ca_name, ca_key.get(), nullptr, ca_key.get(), days * 10, true, rsa}, opts, error);
  if (!ca) {
    error = "generating the CA certificate: " + last_error();
    return std::nullopt;
  }
  X509Ptr leaf = make_cert(
      {leaf_name + ".net", leaf_key.get(), ca.get(), ca_key.get(), days, false, rsa}, opts, error);
  if (!leaf) {
    if (error.empty()) error = "generating the certificate: " + last_error();
    ERR_clear_error();
    return std::nullopt;
  }
  Identity id;
  id.key = std::move(leaf_key);
  id.chain.push_back(std::move(leaf));
  id.ca = std::move(ca);
  return id;  // ca_key is freed here: the CA can never sign anything else
}

}  // namespace ferry::net::tls
