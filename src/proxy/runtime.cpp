#include "proxy/runtime.h"

#include <cstdlib>

#include "common/log.h"

namespace ferry::proxy {
namespace {

net::tls::KeyAlgorithm algorithm_for(KeyType t) {
  switch (t) {
    case KeyType::rsa_2048:
      return net::tls::KeyAlgorithm::rsa_2048;
    case KeyType::rsa_4096:
      return net::tls::KeyAlgorithm::rsa_4096;
    case KeyType::ecdsa_p256:
      break;
  }
  return net::tls::KeyAlgorithm::ecdsa_p256;
}

bool same_tls(const TlsConfig& a, const TlsConfig& b) {
  return a.cert == b.cert && a.key == b.key && a.key_type == b.key_type && a.san_dns == b.san_dns &&
         a.san_ip == b.san_ip;
}

// Identity for the TLS listeners: the configured files, or a certificate
// generated in memory (WhatsApp's proxy makes one at start too).
std::shared_ptr<net::tls::Identity> identity_for(const Config& config, const Runtime* previous,
                                                 std::string& error) {
  const TlsConfig& tls = config.tls;
  if (!tls.cert.empty()) {
    auto id = net::tls::load_identity(tls.cert, tls.key, error);
    if (!id) return nullptr;
    return std::make_shared<net::tls::Identity>(std::move(*id));
  }
  if (previous != nullptr && previous->generated_identity && same_tls(previous->config.tls, tls))
    return previous->generated_identity;
  net::tls::SelfSignedOptions opts;
  opts.algorithm = algorithm_for(tls.key_type);
  opts.san_dns = tls.san_dns;
  opts.san_ip = tls.san_ip;
  // WhatsApp's image takes extra names from SSL_DNS / SSL_IP; so do we.
  for (auto& s : net::tls::split_list(std::getenv("SSL_DNS"))) opts.san_dns.push_back(s);
  for (auto& s : net::tls::split_list(std::getenv("SSL_IP"))) opts.san_ip.push_back(s);
  auto id = net::tls::generate_self_signed(opts, error);
  if (!id) return nullptr;
  log::info("tls_certificate_generated", {{"sans", opts.san_dns.size() + opts.san_ip.size()}});
  return std::make_shared<net::tls::Identity>(std::move(*id));
}

}  // namespace

std::shared_ptr<Runtime> build_runtime(const Config& config, Metrics& metrics,
                                       const Runtime* previous, std::string& error) {
  auto rt = std::make_shared<Runtime>();
  rt->config = config;

  if (config.any_tls()) {
    auto id = identity_for(config, previous, error);
    if (!id) return nullptr;
    auto ctx = net::tls::make_server_context(*id, error);
    if (!ctx) return nullptr;
    rt->tls = std::shared_ptr<SSL_CTX>(ctx.release(), SSL_CTX_free);
    if (config.tls.cert.empty()) rt->generated_identity = id;
  }

  for (const auto& [name, uc] : config.upstreams) {
    auto up = std::make_shared<UpstreamState>(uc, metrics);
    if (previous != nullptr) {
      for (const auto& old : previous->upstreams) {
        if (old->name() == name) up->inherit(*old);
      }
    }
    rt->upstreams.push_back(std::move(up));
  }

  for (const auto& lc : config.listeners) {
    auto lr = std::make_shared<ListenerRuntime>();
    lr->config = lc;
    lr->limits = config.limits;
    lr->log_client_addresses = config.log_client_addresses;
    for (const auto& up : rt->upstreams) {
      if (up->name() == lc.upstream) lr->upstream = up;
    }
    if (!lr->upstream) {  // the loader guarantees this; defend anyway
      error = "listener " + lc.name + ": unknown upstream " + lc.upstream;
      return nullptr;
    }
    if (lc.tls) lr->tls = rt->tls;
    auto addr = net::SocketAddress::from_host_port(lc.listen);
    if (!addr) {
      error = "listener " + lc.name + ": listen address must be numeric: " + lc.listen.to_string();
      return nullptr;
    }
    lr->bind_address = *addr;
    rt->listeners.push_back(std::move(lr));
  }
  return rt;
}

void take_effect(Runtime& rt, Metrics& metrics) {
  for (auto& lr : rt.listeners)
    lr->metrics = &metrics.listener(lr->config.name, lr->config.listen.to_string());
  for (auto& up : rt.upstreams) up->take_effect();
}

}  // namespace ferry::proxy
