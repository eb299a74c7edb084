// ferry-proxy: the relay a volunteer runs. With no arguments it is a drop-in
// for WhatsApp's proxy (the built-in "whatsapp" profile).
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "common/log.h"
#include "common/main_guard.h"
#include "net/address.h"
#include "net/tls.h"
#include "proxy/config.h"
#include "proxy/profiles.h"
#include "proxy/proxy_server.h"
#include "proxy/qr_code.h"
#include "proxy/share_link.h"

namespace {

using ferry::proxy::Config;
using ferry::proxy::ConfigError;
using ferry::proxy::ConfigResult;

struct Options {
  std::string profile;
  std::string config_file;
  std::string public_host;
  std::string upstream;
  std::string user;
  std::string log_level;
};

// The flag that set the value at config key `key`, if one did.
const char* flag_that_set(const std::string& key, const Options& o) {
  if (key == "public_host" && !o.public_host.empty()) return "--public-host";
  if (key == "user" && !o.user.empty()) return "--user";
  if (key.starts_with("upstream.") && key.find(".servers") != std::string::npos &&
      !o.upstream.empty())
    return "--upstream";
  return nullptr;
}

// Command-line values win over the file, at start and on every reload.
ConfigResult apply_overrides(ConfigResult result, const Options& o) {
  if (std::holds_alternative<ConfigError>(result)) return result;
  Config& c = std::get<Config>(result);
  auto flag_error = [&](const char* flag, std::string message) -> ConfigResult {
    return ConfigError{c.source, 0, 0, flag, std::move(message)};
  };
  if (!o.public_host.empty()) c.public_host = o.public_host;
  if (!o.user.empty()) c.user = o.user;
  if (!o.log_level.empty()) {
    ferry::log::Level l;
    if (!ferry::log::parse_level(o.log_level, l))
      return flag_error("--log-level", "must be debug, info, warn or error");
    c.log_level = o.log_level;
  }
  if (!o.upstream.empty()) {
    auto hp = ferry::net::HostPort::parse(o.upstream);
    if (!hp) return flag_error("--upstream", "not HOST:PORT: " + o.upstream);
    if (c.upstreams.size() != 1)
      return flag_error("--upstream",
                        "the configuration has " + std::to_string(c.upstreams.size()) +
                            " upstreams; --upstream replaces the servers of exactly one");
    c.upstreams.begin()->second.servers = {*hp};
  }
  // Flags obey the same rules as the file (no 0.0.0.0 upstream, etc.); an
  // error in a value a flag set names the flag, not a place in the file.
  if (auto e = ferry::proxy::validate_config(c)) {
    if (const char* flag = flag_that_set(e->key, o)) return flag_error(flag, e->message);
    return *e;
  }
  return result;
}

ConfigResult load(const Options& o) {
  ConfigResult r = o.config_file.empty()
                       ? ferry::proxy::load_profile(
                             o.profile.empty() ? ferry::proxy::kDefaultProfile : o.profile)
                       : ferry::proxy::load_config_file(o.config_file);
  return apply_overrides(std::move(r), o);
}

void print_share_link(const Config& c) {
  if (c.public_host.empty()) return;
  std::string link = ferry::proxy::share_link(c, c.public_host);
  if (link.empty()) return;
  bool tty = ::isatty(STDOUT_FILENO) != 0;
  std::cout << "\nShare this link with the people who need it:\n\n  " << link << "\n\n"
            << ferry::proxy::qr_for_terminal(
                   link, tty ? ferry::proxy::QrColors::ansi : ferry::proxy::QrColors::plain)
            << std::endl;
}

}  // namespace

static int run(int argc, char** argv) {
  CLI::App app{
      "ferry-proxy: a relay that helps people reach their messenger when it is blocked.\n"
      "With no arguments it runs the built-in 'whatsapp' profile."};
  Options o;
  std::string print_profile;
  bool check = false;
  bool version = false;
  auto* profile =
      app.add_option("--profile", o.profile, "Run a built-in profile (whatsapp, ferry)");
  app.add_option("--config", o.config_file, "Run this TOML configuration file")->excludes(profile);
  app.add_flag("--check", check, "Validate the configuration and exit");
  app.add_option("--print-config", print_profile,
                 "Print a built-in profile as a config file and exit");
  app.add_option("--public-host", o.public_host,
                 "Host name or IP people use to reach this proxy (share link)");
  app.add_option("--upstream", o.upstream, "HOST:PORT replacing the servers of the only upstream");
  app.add_option("--user", o.user, "Drop root privileges to this user after binding");
  app.add_option("--log-level", o.log_level, "debug, info, warn or error");
  app.add_flag("--version", version, "Print the version and exit");
  CLI11_PARSE(app, argc, argv);

  if (version) {
    std::cout << "ferry-proxy 0.1.0\n";
    return 0;
  }
  if (!print_profile.empty()) {
    auto text = ferry::proxy::profile_text(print_profile);
    if (!text) {
      std::cerr << "ferry-proxy: unknown profile '" << print_profile << "'\n";
      return 2;
    }
    std::cout << *text;
    return 0;
  }

  ConfigResult loaded = load(o);
  if (auto* err = std::get_if<ConfigError>(&loaded)) {
    std::cerr << "ferry-proxy: " << err->to_string() << "\n";
    return 2;
  }
  Config config = std::get<Config>(std::move(loaded));
  if (check) {
    // What start or a reload would also refuse: the files the config names
    // and the user it switches to.
    std::string error;
    if (config.any_tls() && !config.tls.cert.empty() &&
        !ferry::net::tls::load_identity(config.tls.cert, config.tls.key, error)) {
      std::cerr << "ferry-proxy: " << config.source << ": [tls]: " << error << "\n";
      return 2;
    }
    if (!config.user.empty() && ::getpwnam(config.user.c_str()) == nullptr) {
      std::cerr << "ferry-proxy: " << config.source << ": " << (o.user.empty() ? "user" : "--user")
                << ": no such user '" << config.user << "'\n";
      return 2;
    }
    std::cout << "configuration ok: " << config.source << "\n";
    return 0;
  }

  ferry::proxy::ProxyOptions options;
  options.reload = [o] { return load(o); };
  ferry::proxy::ProxyServer server(config, options);
  std::string error;
  if (!server.init(error)) {
    ferry::log::error("start_failed", {{"error", error}});
    return 1;
  }
  print_share_link(config);
  return server.run();
}

int main(int argc, char** argv) {
  return ferry::run_guarded("ferry-proxy", run, argc, argv);
}
