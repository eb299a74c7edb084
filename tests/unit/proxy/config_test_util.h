// Helpers shared by the config tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <variant>

#include "proxy/config.h"

namespace ferry::proxy::testing {

// The smallest valid config; tests add to it.
inline constexpr std::string_view kMinimalListenerAndUpstream = R"([[listener]]
listen = "[::]:443"
upstream = "chat"

[upstream.chat]
servers = ["g.whatsapp.net:5222"]
)";

// The parsed config, failing the test (with the error) if it was refused.
inline Config parse_ok(std::string_view text, const std::string& source = "test.toml") {
  ConfigResult r = parse_config(text, source);
  if (auto* e = std::get_if<ConfigError>(&r)) {
    ADD_FAILURE() << "refused: " << e->to_string() << "\n--- text ---\n" << text;
    return Config{};
  }
  return std::get<Config>(std::move(r));
}

// The error, failing the test if the text was accepted.
inline ConfigError parse_error(std::string_view text, const std::string& source = "test.toml") {
  ConfigResult r = parse_config(text, source);
  if (auto* e = std::get_if<ConfigError>(&r)) return *e;
  ADD_FAILURE() << "accepted:\n" << text;
  return ConfigError{};
}

}  // namespace ferry::proxy::testing
