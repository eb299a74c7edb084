// What may stand for a host where people type, paste or scan it: a numeric
// address or a DNS name. ferry-proxy's configuration and ferry-server's
// --public-host check with the same two functions, so both refuse the same.
#pragma once

#include <string_view>

namespace ferry::net {

// A numeric IPv4 or IPv6 address, without brackets, port or zone index.
bool is_ip_literal(std::string_view text);
// A DNS host name: dot-separated labels of letters, digits, '-' and '_', at
// most 253 characters, and not all-numeric at the end (so "10.1" can never be
// read as an abbreviated IPv4 address). With allow_wildcard, "*.example.org".
bool is_dns_name(std::string_view text, bool allow_wildcard = false);

}  // namespace ferry::net
