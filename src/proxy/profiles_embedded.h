// The profile files as compiled in (see cmake/embed_profiles.cmake).
#pragma once

#include <string_view>
#include <vector>

namespace ferry::proxy::detail {

struct EmbeddedProfile {
  std::string_view name;  // file name without .toml
  std::string_view text;
};

extern const std::vector<EmbeddedProfile> kEmbeddedProfiles;

}  // namespace ferry::proxy::detail
