#include "proxy/share_link.h"

#include <cstdint>

namespace ferry::proxy {
namespace {

constexpr std::string_view kChatUpstream = "chat";
constexpr std::string_view kMediaUpstream = "media";

// A listener a client can be sent to: one behind a load balancer that speaks
// the PROXY protocol would refuse a client's direct connection.
bool shareable(const ListenerConfig& l) {
  return !l.accept_proxy;
}

enum class Tls : uint8_t { yes, no, any };

// The first shareable listener in file order with that TLS setting and
// upstream (any upstream when `upstream` is empty).
const ListenerConfig* first(const Config& c, Tls tls, std::string_view upstream) {
  for (const ListenerConfig& l : c.listeners) {
    const bool tls_ok = tls == Tls::any || l.tls == (tls == Tls::yes);
    if (shareable(l) && tls_ok && (upstream.empty() || l.upstream == upstream)) return &l;
  }
  return nullptr;
}

}  // namespace

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || c == ':';
    if (keep) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

std::string link_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.find(':') != std::string_view::npos) return url_encode("[" + std::string(host) + "]");
  return url_encode(host);
}

std::string whatsapp_link(const Config& config, std::string_view host) {
  if (host.empty()) return "";
  const ListenerConfig* chat = first(config, Tls::yes, kChatUpstream);
  const bool chat_tls = chat != nullptr;
  if (!chat) chat = first(config, Tls::no, kChatUpstream);
  // The link has no TLS flag for media: WhatsApp's media ports are plain.
  const ListenerConfig* media = first(config, Tls::any, kMediaUpstream);
  if (!chat && !media) return "";

  std::string link = "https://wa.me/proxy?host=" + link_host(host);
  if (chat) link += "&chatPort=" + std::to_string(chat->listen.port);
  if (media) link += "&mediaPort=" + std::to_string(media->listen.port);
  if (chat) link += chat_tls ? "&chatTLS=true" : "&chatTLS=false";
  return link;
}

std::string ferry_link(const Config& config, std::string_view host) {
  if (host.empty()) return "";
  const ListenerConfig* l = first(config, Tls::yes, "");
  const bool tls = l != nullptr;
  if (!l) l = first(config, Tls::no, "");
  if (!l) return "";
  return "ferry://proxy?host=" + link_host(host) + "&port=" + std::to_string(l->listen.port) +
         (tls ? "&tls=1" : "&tls=0");
}

std::string share_link(const Config& config, std::string_view host) {
  switch (config.share_link) {
    case ShareLink::whatsapp:
      return whatsapp_link(config, host);
    case ShareLink::ferry:
      return ferry_link(config, host);
    case ShareLink::none:
      break;
  }
  return "";
}

}  // namespace ferry::proxy
