// noise-vectors FILE...: runs Noise test vector files (cacophony or noise-c
// JSON format) against ferry_crypto and prints one line per protocol name.
// Exits 1 if any vector fails or a file cannot be read, 2 on bad usage.
#include <fmt/core.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "crypto/vectors/noise_vectors.h"

namespace {

constexpr std::streamsize kMaxFileSize = 64 << 20;  // far above any real vector file

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (static_cast<std::streamsize>(text.size()) > kMaxFileSize) return std::nullopt;
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ferry::crypto;
  if (argc < 2) {
    fmt::print(stderr, "usage: noise-vectors FILE...\n");
    return 2;
  }
  bool ok = true;
  for (int a = 1; a < argc; ++a) {
    auto text = read_file(argv[a]);
    if (!text) {
      fmt::print(stderr, "{}: cannot read file (missing or over 64 MiB)\n", argv[a]);
      ok = false;
      continue;
    }
    auto vectors = vectors::parse_noise_vectors(*text);
    if (!vectors) {
      fmt::print(stderr, "{}: {}\n", argv[a], vectors.error().detail);
      ok = false;
      continue;
    }
    size_t passed = 0, failed = 0, skipped = 0;
    for (const auto& t : vectors::run_noise_vectors(*vectors)) {
      const char* status = t.failed > 0 ? "FAIL" : (t.passed > 0 ? "ok  " : "SKIP");
      fmt::print("{} {} passed={} failed={} skipped={}{}{}\n", status, t.protocol_name, t.passed,
                 t.failed, t.skipped, t.first_problem.empty() ? "" : " -- ", t.first_problem);
      passed += t.passed;
      failed += t.failed;
      skipped += t.skipped;
    }
    fmt::print("{}: {} vectors, {} passed, {} failed, {} skipped (unsupported)\n", argv[a],
               vectors->size(), passed, failed, skipped);
    if (failed > 0) ok = false;
  }
  return ok ? 0 : 1;
}
