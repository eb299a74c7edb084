// The built-in profiles, looked up in the table cmake/embed_profiles.cmake
// generates from profiles/*.toml.
#include "proxy/profiles.h"

#include <algorithm>
#include <string>

#include "proxy/profiles_embedded.h"

namespace ferry::proxy {

std::optional<std::string_view> profile_text(std::string_view name) {
  for (const auto& p : detail::kEmbeddedProfiles) {
    if (p.name == name) return p.text;
  }
  return std::nullopt;
}

std::vector<std::string_view> profile_names() {
  std::vector<std::string_view> names;
  names.reserve(std::size(detail::kEmbeddedProfiles));
  for (const auto& p : detail::kEmbeddedProfiles) names.push_back(p.name);
  std::sort(names.begin(), names.end());
  return names;
}

ConfigResult load_profile(std::string_view name) {
  std::string source = "profile:" + std::string(name);
  auto text = profile_text(name);
  if (!text) {
    std::string known;
    for (auto n : profile_names()) known += (known.empty() ? "" : ", ") + std::string(n);
    return ConfigError{source, 0, 0, "", "no such profile (built in: " + known + ")"};
  }
  return parse_config(*text, source);
}

}  // namespace ferry::proxy
