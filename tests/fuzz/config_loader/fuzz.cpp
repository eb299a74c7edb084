// Arbitrary bytes into parse_config(): never a crash, a hang or a leak, and
// whatever it accepts renders to TOML that parses back to an equal Config.
// For longer runs by hand, toml.dict (next to this file) gives libFuzzer the
// config's keys: config_loader -dict=tests/fuzz/config_loader/toml.dict CORPUS
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <variant>

#include "proxy/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ferry::proxy;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ConfigResult first = parse_config(text, "fuzz.toml");
  if (auto* e = std::get_if<ConfigError>(&first)) {
    // Formatting an error must not crash either.
    volatile size_t n = e->to_string().size();
    (void)n;
    return 0;
  }
  const Config& config = std::get<Config>(first);
  std::string rendered = render_config(config);
  ConfigResult second = parse_config(rendered, "rendered.toml");
  if (auto* e = std::get_if<ConfigError>(&second)) {
    std::fprintf(stderr, "rendered config refused: %s\n--- rendered ---\n%s\n",
                 e->to_string().c_str(), rendered.c_str());
    __builtin_trap();
  }
  if (!(std::get<Config>(second) == config)) {
    std::fprintf(stderr, "round trip changed the config\n--- rendered ---\n%s\n", rendered.c_str());
    __builtin_trap();
  }
  return 0;
}
