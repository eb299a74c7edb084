// Durations in config files: an integer with a unit, "250ms", "5s", "2m", "1h".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ferry {

using Millis = std::chrono::milliseconds;

// Returns nullopt for anything else (no unit, negative, fractions, overflow).
std::optional<Millis> parse_duration(std::string_view text);

// The shortest exact spelling: 30000ms -> "30s", 1500ms -> "1500ms".
std::string format_duration(Millis d);

}  // namespace ferry
