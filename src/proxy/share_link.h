// The link a user opens (or scans) to start using this proxy: WhatsApp's
// `https://wa.me/proxy?...` or Ferry's own `ferry://proxy?...`, with the
// ports taken from the listeners in the config. Printed at start when a
// public host is known; nothing here talks to the network.
#pragma once

#include <string>
#include <string_view>

#include "proxy/config.h"

namespace ferry::proxy {

// https://wa.me/proxy?host=HOST&chatPort=P&mediaPort=M&chatTLS=true
// Chat: the first TLS listener (not accept_proxy) to upstream "chat"
// (chatTLS=true); else the first plain one (chatTLS=false). Media: the first
// listener (not accept_proxy) to upstream "media". A part with no listener is
// left out; "" when there is neither, or no host.
std::string whatsapp_link(const Config& config, std::string_view host);

// ferry://proxy?host=HOST&port=P&tls=1: the first TLS listener that is not
// accept_proxy, else the first plain one (tls=0); "" when none, or no host.
std::string ferry_link(const Config& config, std::string_view host);

// The link `config.share_link` asks for ("" for none).
std::string share_link(const Config& config, std::string_view host);

// Percent-encodes everything but RFC 3986 unreserved characters and ':' (which
// a query may hold), so an IPv6 host reads "%5B2001:db8::1%5D".
std::string url_encode(std::string_view text);

// The host as it goes into a link: IPv6 literals in brackets, then encoded.
std::string link_host(std::string_view host);

}  // namespace ferry::proxy
