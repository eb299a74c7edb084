// Built-in profiles: ordinary config files compiled into the binary.
// `ferry-proxy --print-config NAME` prints one; `--profile NAME` runs one.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "proxy/config.h"

namespace ferry::proxy {

// The TOML text of a built-in profile, or nullopt.
std::optional<std::string_view> profile_text(std::string_view name);
std::vector<std::string_view> profile_names();
inline constexpr std::string_view kDefaultProfile = "whatsapp";

// profile_text() parsed with source "profile:NAME"; an unknown name is a
// ConfigError listing the built-in ones.
ConfigResult load_profile(std::string_view name);

}  // namespace ferry::proxy
