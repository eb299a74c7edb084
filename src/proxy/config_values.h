// What a single config value may be: the checks and the enum spellings that
// the parser and the renderer share, so the two can never disagree.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/config.h"

namespace ferry::proxy::values {

std::string_view proxy_header_name(ProxyHeader v);
std::string_view key_type_name(KeyType v);
std::string_view share_link_name(ShareLink v);
std::string_view cpu_affinity_name(CpuAffinity v);
std::string_view io_uring_name(IoUring v);
std::optional<ProxyHeader> parse_proxy_header(std::string_view text);
std::optional<KeyType> parse_key_type(std::string_view text);
std::optional<ShareLink> parse_share_link(std::string_view text);
std::optional<CpuAffinity> parse_cpu_affinity(std::string_view text);
std::optional<IoUring> parse_io_uring(std::string_view text);
bool is_log_level(std::string_view text);

// The accepted spellings, for error messages: "none, v1, v2".
inline constexpr std::string_view kProxyHeaderNames = "none, v1, v2";
inline constexpr std::string_view kKeyTypeNames = "ecdsa-p256, rsa-2048, rsa-4096";
inline constexpr std::string_view kShareLinkNames = "none, whatsapp, ferry";
inline constexpr std::string_view kCpuAffinityNames = "auto, none";
inline constexpr std::string_view kIoUringNames = "auto, off";
inline constexpr std::string_view kLogLevelNames = "debug, info, warn, error";

// [A-Za-z0-9_-]+: upstream names appear in TOML keys and metrics labels.
bool is_upstream_name(std::string_view text);
// Listener names are metrics labels: 1..128 of [A-Za-z0-9_.:[]-].
bool is_listener_name(std::string_view text);
// A login name for --user / user: 1..32 of [A-Za-z0-9._-], not starting with '-'.
bool is_user_name(std::string_view text);
// No control characters (file paths are handed to open(2) as C strings).
bool has_no_control_chars(std::string_view text);

}  // namespace ferry::proxy::values
